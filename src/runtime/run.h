/* stub: being written */
#ifndef RL_RUN_H
#define RL_RUN_H
#endif
