#include "config.h"
#include "runtime/idmap.h"
