// The deep-learning half of the tomo pipeline (Xu et al. 2017):
//   train     : Inception3D / DSRF3D on simulated subtomograms (nn/ engine),
//               optionally leaving classes out (leave-one-class-out study);
//   extract   : linear (pre-softmax) outputs = structural features of every
//               subtomogram, sharded inference, plus the confusion matrix;
//   subdivide : distributed k-means (k = 100) in feature space, cluster-size
//               histogram and the enrichment of every true class per cluster;
//   rif-svm   : the paper's baseline (Table 2): spherical-harmonic
//               rotation-invariant features + RBF SVM on the same train/test
//               split as `train`, so the accuracies compare
//               (src/app/tomo_rif_svm.cpp).
#pragma once

#include <vector>

#include "phenoscale/app/registry.hpp"

namespace phenoscale::app {

void add_tomo_learning_keys(core::Schema& schema);
std::vector<Stage> tomo_learning_stages();

void add_tomo_rif_svm_keys(core::Schema& schema);
Stage tomo_rif_svm_stage();

}  // namespace phenoscale::app
