#include "phenoscale/core/stop_signal.hpp"

namespace phenoscale::core {
namespace {

volatile std::sig_atomic_t g_received = 0;

extern "C" void record_stop_signal(int signal_number) { g_received = signal_number; }

}  // namespace

StopSignal::StopSignal() {
  // No reset: the CLI installs one for the whole stage and the trainer nests
  // its own; a signal received before the inner one must not be forgotten.
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, &previous_term_);
  sigaction(SIGUSR1, &action, &previous_usr1_);
}

StopSignal::~StopSignal() {
  sigaction(SIGTERM, &previous_term_, nullptr);
  sigaction(SIGUSR1, &previous_usr1_, nullptr);
}

int StopSignal::received() { return g_received; }

void StopSignal::clear() { g_received = 0; }

}  // namespace phenoscale::core
