/* stub: being written */
#ifndef RL_REF_H
#define RL_REF_H
#endif
