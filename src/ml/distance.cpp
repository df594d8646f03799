// Distance names (ml/distance.hpp).
#include "phenoscale/ml/distance.hpp"

#include "phenoscale/core/error.hpp"

namespace phenoscale::ml {

Distance parse_distance(const std::string& name, const std::string& key) {
  if (name == "euclidean") return Distance::euclidean;
  if (name == "nan-euclidean") return Distance::nan_euclidean;
  throw ConfigError(key + " = \"" + name + "\" is not one of euclidean, nan-euclidean");
}

const char* distance_name(Distance distance) {
  return distance == Distance::euclidean ? "euclidean" : "nan-euclidean";
}

}  // namespace phenoscale::ml
