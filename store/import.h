/* kvmqual import: runs from bundles (kvmqual export's JSON, schema
 * kvmqual.export) into a store, as kvmqual remote does with what a device
 * sends back. */
#ifndef KQ_STORE_IMPORT_H
#define KQ_STORE_IMPORT_H

#include <stdint.h>

#include "../lib/util.h"

struct import_summary {
	int imported;        /* runs added */
	int duplicates;      /* runs the store already had (same host, start, boot id, pid) */
	int64_t last_run_id; /* the store's id of the bundle's last run, added or found */
};

/* Imports every run of the bundle at path into the store at db_path, all
 * or nothing: the whole bundle is read and checked before anything is
 * written, and written in one transaction. A run the store already has is
 * not added again. Each new run's provenance (table run_sources) is source
 * (where the bundle came from: a URL, a device's path; NULL: path made
 * absolute), the bundle's database and the run's id there, unless the run
 * carries a provenance of its own (an imported run exported again), which
 * is kept. Returns 0, or -1 with err naming the file and what was wrong
 * (the store unchanged). */
int store_import_bundle(const char *db_path, const char *path, const char *source, struct import_summary *sum,
			struct kq_err *err);

/* kvmqual import [--db FILE] BUNDLE... */
int cmd_import(int argc, char **argv);

#endif
