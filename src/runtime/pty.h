/* stub: being written */
#ifndef RL_PTY_H
#define RL_PTY_H
#endif
