/* stub: being written */
#ifndef RL_DIGEST_H
#define RL_DIGEST_H
#endif
