/* The command line of the commands that read or fill a store (kvmqual
 * export, export --format lava, import): options that each take a string
 * (--db FILE among them), --help, and one answer to a bad option. */
#ifndef KQ_STORE_CMD_OPTIONS_H
#define KQ_STORE_CMD_OPTIONS_H

struct store_cmd_option {
	const char *name;   /* the long option, without "--" */
	const char **value; /* set to its argument (the last one given wins) */
};

/* Reads argv's options (getopt_long from argv[1] on) into opts, a table
 * ended by { NULL }.  --help prints usage (a format whose one %s is
 * STORE_DEFAULT_PATH) on standard output and returns 0; an unknown option
 * or one without its argument prints it on standard error and returns 2.
 * Otherwise -1: the command goes on, its operands from argv[optind]. */
int store_cmd_options(int argc, char **argv, const struct store_cmd_option *opts, const char *usage);

#endif
