/* src/vm/watchdog.c - the watchdog the KVM run loop arms: SIGALRM when the
 * guest's time to make progress (vm->deadline_ns) is up, repeating until the
 * loop has seen it.
 */
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "vm_impl.h"

static volatile sig_atomic_t fired;

static void watchdog_handler(int sig)
{
	fired = 1;
}

void watchdog_arm(uint64_t ns)
{
	struct sigaction sa;
	/* after expiring it repeats every 10 ms, so that a SIGALRM that lands
	 * while the host handles an exit (outside KVM_RUN) is not lost */
	uint64_t us = ns / 1000 + 1;
	struct itimerval it = {{0, 10000}, {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)}};

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_handler; /* no SA_RESTART: KVM_RUN and poll return EINTR */
	sigaction(SIGALRM, &sa, NULL);
	fired = 0;
	setitimer(ITIMER_REAL, &it, NULL);
}

void watchdog_disarm(void)
{
	struct itimerval it = {{0, 0}, {0, 0}};

	setitimer(ITIMER_REAL, &it, NULL);
}

bool watchdog_fired(void)
{
	return fired != 0;
}
