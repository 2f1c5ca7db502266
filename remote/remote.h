/* The remote stage: kvmqual remote (cmd_remote.c), which qualifies a device
 * over ssh or adb with the field kit (docs/kit.md) and brings its run
 * into the local store (store/import.h) and a report. */
#ifndef KQ_REMOTE_H
#define KQ_REMOTE_H

int cmd_remote(int argc, char **argv);

#endif
