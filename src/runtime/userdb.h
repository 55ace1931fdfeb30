/* stub: being written */
#ifndef RL_USERDB_H
#define RL_USERDB_H
#endif
