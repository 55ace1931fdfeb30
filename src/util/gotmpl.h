/* A subset of Go's text/template for --format (to be written). */
#ifndef RL_GOTMPL_H
#define RL_GOTMPL_H
#endif
