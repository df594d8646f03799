// Distance names (ml/distance.hpp).
#include "phenoscale/ml/distance.hpp"

namespace phenoscale::ml {

const char* distance_name(Distance distance) {
  return distance == Distance::euclidean ? "euclidean" : "nan-euclidean";
}

}  // namespace phenoscale::ml
