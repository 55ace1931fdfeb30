/* A container's files from the host: rl cp, export, commit (to be written). */
#ifndef RL_CTRFS_H
#define RL_CTRFS_H
#endif
