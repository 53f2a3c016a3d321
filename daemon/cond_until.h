/* cond_until: waiting on a condition variable until a uv_hrtime() deadline. */
#ifndef CD_COND_UNTIL_H
#define CD_COND_UNTIL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

/* Waits on cond (mu held) until signalled or until uv_hrtime() reaches due (the deadlines are
 * kept on the monotonic clock; the condition variable's is CLOCK_REALTIME). */
static inline void cd_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t due)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t at = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + (due - (int64_t)uv_hrtime());
    ts = (struct timespec){ at / 1000000000LL, at % 1000000000LL };
    pthread_cond_timedwait(cond, mu, &ts);
}

#endif
