/* A subset of Go's text/template for --format (to be written). */
#include "config.h"
#include "util/gotmpl.h"
