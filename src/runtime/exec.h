/* rl exec: a process in a running container (to be written). */
#ifndef RL_EXEC_H
#define RL_EXEC_H
#endif
