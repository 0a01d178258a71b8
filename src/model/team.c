/* team.c: see team.h. Workers sleep on a condition variable between runs
 * (they must not spin: a training run or other processes may want the
 * cores); the barrier is pthread's (futex-based). */
#include "team.h"

#include <pthread.h>
#include <stdlib.h>

#define TEAM_MAX 64

struct gen_team {
    int n;
    pthread_t th[TEAM_MAX];
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long gen; /* run number: a change wakes the workers */
    int pending;       /* workers still in the current run */
    int quit;
    void (*fn)(void *, int);
    void *arg;
    pthread_barrier_t bar;
};

typedef struct worker_start {
    gen_team *t;
    int id;
} worker_start;


static void *worker(void *p)
{
    gen_team *t = ((worker_start *)p)->t;
    const int id = ((worker_start *)p)->id;
    free(p);
    unsigned long seen = 0;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->quit && t->gen == seen)
            pthread_cond_wait(&t->go, &t->mu);
        if (t->quit)
            break;
        seen = t->gen;
        void (*fn)(void *, int) = t->fn;
        void *arg = t->arg;
        pthread_mutex_unlock(&t->mu);
        fn(arg, id);
        pthread_mutex_lock(&t->mu);
        if (--t->pending == 0)
            pthread_cond_signal(&t->done);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

gen_team *gen_team_new(int n)
{
    if (n < 1)
        n = 1;
    if (n > TEAM_MAX)
        n = TEAM_MAX;
    gen_team *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->go, NULL);
    pthread_cond_init(&t->done, NULL);
    t->n = 1;
    for (int i = 1; i < n; i++) {
        worker_start *s = malloc(sizeof *s);
        if (!s)
            break;
        *s = (worker_start){t, i};
        if (pthread_create(&t->th[i], NULL, worker, s)) {
            free(s);
            break; /* a smaller team: the bands are split among those started */
        }
        t->n = i + 1;
    }
    pthread_barrier_init(&t->bar, NULL, (unsigned)t->n);
    return t;
}

void gen_team_free(gen_team *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->quit = 1;
    pthread_cond_broadcast(&t->go);
    pthread_mutex_unlock(&t->mu);
    for (int i = 1; i < t->n; i++)
        pthread_join(t->th[i], NULL);
    pthread_barrier_destroy(&t->bar);
    pthread_cond_destroy(&t->go);
    pthread_cond_destroy(&t->done);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

int gen_team_size(const gen_team *t)
{
    return t ? t->n : 1;
}

void gen_team_run(gen_team *t, void (*fn)(void *arg, int id), void *arg)
{
    if (!t || t->n == 1) {
        fn(arg, 0);
        return;
    }
    pthread_mutex_lock(&t->mu);
    t->fn = fn;
    t->arg = arg;
    t->pending = t->n - 1;
    t->gen++;
    pthread_cond_broadcast(&t->go);
    pthread_mutex_unlock(&t->mu);
    fn(arg, 0);
    pthread_mutex_lock(&t->mu);
    while (t->pending)
        pthread_cond_wait(&t->done, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

void gen_team_barrier(gen_team *t)
{
    if (t && t->n > 1)
        pthread_barrier_wait(&t->bar);
}
