#include "config.h"
#include "image/image.h"
