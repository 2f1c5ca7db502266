/* The kvmqual front-end's sub-commands, one function each. */
#ifndef KQ_COMMANDS_H
#define KQ_COMMANDS_H

int cmd_guest(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_matrix(int argc, char **argv);

#endif
