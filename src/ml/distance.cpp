// Distance names (ml/distance.hpp).
#include "phenoscale/ml/distance.hpp"

#include "phenoscale/core/error.hpp"

namespace phenoscale::ml {

const char* distance_name(Distance distance) {
  return distance == Distance::euclidean ? "euclidean" : "nan-euclidean";
}

Distance parse_distance(const std::string& name, const std::string& key) {
  for (const Distance d : {Distance::euclidean, Distance::nan_euclidean})
    if (name == distance_name(d)) return d;
  throw ConfigError(key + " = \"" + name + "\" is not one of euclidean, nan-euclidean");
}

}  // namespace phenoscale::ml
