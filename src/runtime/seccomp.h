/* stub: being written */
#ifndef RL_SECCOMP_H
#define RL_SECCOMP_H
#endif
