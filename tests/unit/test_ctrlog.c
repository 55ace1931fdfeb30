/* (to be written) */
#include "config.h"
#include "unit.h"

int
main (void)
{
  return unit_exit ();
}
