/* rl run: parse the options, then hand over to the runtime. */
#include "config.h"
#include "cmd/cmd.h"
#include "runtime/run.h"
#include "runtime/runspec.h"

#include <unistd.h>

int
cmd_run (struct rl_globals *g, int argc, char **argv, rl_error_t *err)
{
  struct run_spec spec;
  bool help = false;
  int ret;

  if (run_spec_parse (&spec, argc, argv, &help, err) < 0)
    {
      run_spec_clear (&spec);
      return -1;
    }
  if (help)
    {
      run_spec_clear (&spec);
      return 0;
    }
  /* Fail before any work: raw mode and a pty need a terminal to relay. */
  if (spec.tty && !isatty (0))
    {
      run_spec_clear (&spec);
      return rl_error (err, 0,
                       "run: the input device is not a TTY: `-t` needs a terminal on stdin");
    }
  ret = run_container (g, &spec, err);
  run_spec_clear (&spec);
  return ret;
}
