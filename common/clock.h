/* clock.h: the two clocks the agent and the controller share, in ms. */
#ifndef CF_CLOCK_H
#define CF_CLOCK_H

/* Wall-clock time since the epoch: for timestamps that leave the process. */
long long wall_ms(void);
/* Monotonic time: for deadlines and intervals. */
long long mono_ms(void);

#endif
