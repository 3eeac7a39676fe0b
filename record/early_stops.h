/* New threads whose first stop arrives before their creator's clone event:
 * their tids wait here until the event names them. As many as the program
 * makes: a thread left out would stay stopped for ever. */
#ifndef PROF_EARLY_STOPS_H
#define PROF_EARLY_STOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct early_stops {
	pid_t *tids;
	size_t n, cap;
};

void early_stops_add(struct early_stops *es, pid_t tid);
/* Removes tid; false when it is not waiting. */
bool early_stops_take(struct early_stops *es, pid_t tid);
void early_stops_free(struct early_stops *es);

#endif
