/* stub: being written */
#ifndef RL_LAYER_H
#define RL_LAYER_H
#endif
