#include "config.h"
#include "runtime/container.h"
