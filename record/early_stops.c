#include "early_stops.h"
#include "prof/util.h"

#include <stdlib.h>

void early_stops_add(struct early_stops *es, pid_t tid)
{
	if (es->n == es->cap) {
		es->cap = es->cap ? 2 * es->cap : 16;
		es->tids = xrealloc(es->tids, es->cap * sizeof *es->tids);
	}
	es->tids[es->n++] = tid;
}

bool early_stops_take(struct early_stops *es, pid_t tid)
{
	for (size_t i = 0; i < es->n; i++) {
		if (es->tids[i] == tid) {
			es->tids[i] = es->tids[--es->n];
			return true;
		}
	}
	return false;
}

void early_stops_free(struct early_stops *es)
{
	free(es->tids);
	*es = (struct early_stops){ 0 };
}
