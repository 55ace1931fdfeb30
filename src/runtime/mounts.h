/* stub: being written */
#ifndef RL_MOUNTS_H
#define RL_MOUNTS_H
#endif
