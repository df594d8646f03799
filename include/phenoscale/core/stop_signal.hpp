// Graceful stop on SIGTERM / SIGUSR1 (Slurm preemption, `--signal` before the
// time limit, scancel --signal).
//
// While a StopSignal is alive the two signals only raise a flag; the CLI
// installs one for every stage. Long loops poll it collectively
// (par::stop_point; training at step boundaries, after a checkpoint) and end
// with exit code 75 so the job script requeues. The flag is the one piece
// of process-wide state a signal handler allows. Destruction restores the
// previous handlers.
#pragma once

#include <csignal>

namespace phenoscale::core {

class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // The signal number received so far (0: none).
  static int received();
  // Forgets a received signal: for a process that handled the stop and goes
  // on (a test that preempts a run and then resumes it in the same process).
  static void clear();

 private:
  struct sigaction previous_term_ {};
  struct sigaction previous_usr1_ {};
};

}  // namespace phenoscale::core
