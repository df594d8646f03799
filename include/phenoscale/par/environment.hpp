// The MPI environment: the only process-wide state of phenoscale.
//
// Constructed first thing in main (RAII: MPI_Init_thread ... MPI_Finalize).
// It also fixes the process settings every rank must share before any HDF5
// call: file locking off unless the user chose otherwise (parallel file
// systems such as Lustre/GPFS and NFS scratch often reject POSIX locks, and
// MPI-IO does its own coordination).
#pragma once

#include "phenoscale/par/comm.hpp"

namespace phenoscale::par {

class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  Comm& world() { return world_; }

  // Ends the program with `code`: MPI_Finalize, or a plain process exit when
  // skip_finalize() was called (a library left in a state that would crash
  // inside MPI_Finalize), or MPI_Abort when abort_at_finish() was. Every rank
  // must call it.
  int finish(int code);

  // Called when an HDF5 file could not be closed cleanly after an I/O error.
  static void skip_finalize();

  // Called by a rank that left a collective object unfinished (io::H5File:
  // a file the other ranks did not close with it). finish() then aborts the
  // job rather than meet the other ranks in a collective they may never
  // reach; the error has been reported by then.
  static void abort_at_finish();
  static bool abort_pending();

  // Ends every rank at once with `code`. Only for errors that could not be
  // agreed collectively (a rank stuck in a collective would otherwise hang).
  [[noreturn]] static void abort(int code);

  // How long a rank whose work failed waits at par::agree for the others
  // (seconds): PHENOSCALE_AGREEMENT_GRACE, default 30. Read when the
  // Environment is made; each rank uses the value it sees, and a value that
  // is not a number of seconds, at least 0.1, on any rank ends the program
  // there on every rank (exit 2, one line).
  static double agreement_grace_seconds();
  static constexpr double kDefaultAgreementGraceSeconds = 30.0;
  static constexpr double kLeastAgreementGraceSeconds = 0.1;

 private:
  // Runs MPI_Init_thread before `world_` is built (members initialise in order).
  struct Init {
    Init(int& argc, char**& argv);
  };
  Init init_;
  Comm world_;
};

}  // namespace phenoscale::par
