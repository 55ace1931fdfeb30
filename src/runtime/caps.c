/* Capability sets of the container's processes. */
#include "config.h"
#include "runtime/caps.h"

#include <errno.h>
#include <sys/prctl.h>

int
caps_drop_bounding (uint64_t keep, rl_error_t *err)
{
  /* Up to the kernel's last capability: it answers EINVAL past it. */
  for (int c = 0; c < 64; c++)
    {
      if (keep & CAP_BIT (c))
        continue;
      if (prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
        {
          if (errno == EINVAL)
            break;
          return rl_error (err, errno, "drop capability %d from the bounding set", c);
        }
    }
  return 0;
}
