/* The runner stage's sub-commands: run (cmd_run.c: probe, then the
 * workloads natively and in the guest under each accelerator, into the
 * store), guest (cmd_guest.c: boot the guest and run commands in it) and
 * image (cmd_image.c: build the guest image). */
#ifndef KQ_RUNNERS_H
#define KQ_RUNNERS_H

int cmd_run(int argc, char **argv);
int cmd_guest(int argc, char **argv);
int cmd_image(int argc, char **argv);

#endif
