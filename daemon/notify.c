/*
 * daemon/notify.c: telling the supervisor how the daemon is.
 *
 * systemd (Type=notify), through libsystemd's sd_notify, when it set
 * NOTIFY_SOCKET: EXTEND_TIMEOUT_USEC before each step of a start that may
 * take long (recovery), READY=1 once recovery is done and the listeners
 * are open, STATUS= with a one-line summary kept current, RELOADING=1 and
 * READY=1 around a reload (SIGHUP), STOPPING=1 when the drain begins, and
 * WATCHDOG=1 from the event loop itself at half of WATCHDOG_USEC, so that
 * a loop that is stuck gets no word out and the daemon is restarted.
 *
 * s6 (notification-fd): with --ready-fd N, a newline on descriptor N once
 * ready, then N closed.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

#define NOTIFY_STATUS_US	(5 * USEC_PER_SEC)	/* STATUS= refresh */
#define NOTIFY_EXTEND_US	(90 * USEC_PER_SEC)	/* a start's step */

static struct event	*notify_watchdog_ev;
static struct event	*notify_status_ev;
static uint64_t		 notify_watchdog_us;	/* 0: not asked for */
static int		 notify_ready_fd = -1;

static void	notify_send(const char *);
static void	notify_watchdog(evutil_socket_t, short, void *);
static void	notify_status_cb(evutil_socket_t, short, void *);
static void	notify_status_line(char *, size_t);
static void	notify_state(const char *);

/* One notification (several lines), when systemd asked for them. */
static void
notify_send(const char *msg)
{
	int	rc;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	if ((rc = sd_notify(0, msg)) < 0)
		log_warnx("msg=\"sd_notify failed\" error=\"%s\"",
		    strerror(-rc));
}

/* The watchdog's word, from the loop: a loop that turns says so. */
static void
notify_watchdog(evutil_socket_t fd, short what, void *arg)
{
	notify_send("WATCHDOG=1");
}

/* "N schedules (A active), R runs in flight (W waiting), journal seq S". */
static void
notify_status_line(char *buf, size_t len)
{
	struct schedule_counts	sc;

	schedule_counts(&sc);
	snprintf(buf, len, "STATUS=%zu schedules (%zu active), %zu runs in "
	    "flight (%zu waiting), journal seq %llu%s", sc.total, sc.active,
	    sc.runs_running, sc.runs_waiting,
	    (unsigned long long)journal_seq(engine->journal),
	    engine->draining ? ", draining" : "");
}

static void
notify_status_cb(evutil_socket_t fd, short what, void *arg)
{
	char	line[256];

	notify_status_line(line, sizeof line);
	notify_send(line);
}

/*
 * Socket activation: the listening sockets systemd (or any supervisor
 * speaking its protocol: LISTEN_PID, LISTEN_FDS) passed, by kind: a Unix
 * stream socket for the control socket (*CTL), a TCP one for the HTTP
 * listener (*HTTP); -1 for what was not passed.  The variables are unset
 * (the operations never see them).  0, or -1 and *CAUSE for a descriptor
 * of another kind or two of one kind.
 */
int
notify_listen_fds(int *ctl, int *http, char **cause)
{
	int	n, fd, *slot;

	*ctl = *http = -1;
	if ((n = sd_listen_fds(1)) < 0) {
		xasprintf(cause, "LISTEN_FDS: %s", strerror(-n));
		return (-1);
	}
	for (fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0)
			slot = ctl;
		else if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1,
		    0) > 0)
			slot = http;
		else {
			xasprintf(cause, "socket activation: descriptor %d is "
			    "neither a listening Unix stream socket (the "
			    "control socket) nor a listening TCP socket (the "
			    "HTTP listener)", fd);
			return (-1);
		}
		if (*slot != -1) {
			xasprintf(cause, "socket activation: descriptors %d "
			    "and %d are both %s", *slot, fd, slot == ctl ?
			    "Unix sockets (one control socket only)" :
			    "TCP sockets (one HTTP listener only)");
			return (-1);
		}
		*slot = fd;
	}
	return (0);
}

int
notify_check_fd(int fd, char **cause)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFD)) == -1) {
		xasprintf(cause, "--ready-fd %d: not an open descriptor", fd);
		return (-1);
	}
	/* not for the operations' processes */
	if (fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1) {
		xasprintf(cause, "--ready-fd %d: %s", fd, strerror(errno));
		return (-1);
	}
	return (0);
}

int
notify_init(struct event_base *base, int ready_fd, char **cause)
{
	struct timeval	tv;
	uint64_t	usec = 0;
	int		rc;

	notify_ready_fd = ready_fd;
	if ((rc = sd_watchdog_enabled(0, &usec)) < 0) {
		xasprintf(cause, "WATCHDOG_USEC: %s", strerror(-rc));
		return (-1);
	}
	if (rc > 0 && usec > 0) {
		notify_watchdog_us = usec;
		tv.tv_sec = (time_t)(usec / 2 / USEC_PER_SEC);
		tv.tv_usec = (suseconds_t)(usec / 2 % USEC_PER_SEC);
		notify_watchdog_ev = event_new(base, -1, EV_PERSIST,
		    notify_watchdog, NULL);
		if (notify_watchdog_ev == NULL ||
		    event_add(notify_watchdog_ev, &tv) == -1) {
			*cause = xstrdup("cannot start the watchdog timer");
			return (-1);
		}
		log_info("msg=\"watchdog asked for\" every_ms=%llu",
		    (unsigned long long)(usec / 2 / USEC_PER_MSEC));
	}
	return (0);
}

void
notify_extend(const char *step)
{
	char	msg[128];

	/* a start step may take long: the start timeout counts from here */
	snprintf(msg, sizeof msg, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=%s",
	    (unsigned long long)NOTIFY_EXTEND_US, step);
	notify_send(msg);
	if (notify_watchdog_us > 0)
		notify_send("WATCHDOG=1");
}

/* STATE (a line, "READY=1", "STOPPING=1") with the STATUS= line. */
static void
notify_state(const char *state)
{
	char	line[256], msg[300];

	notify_status_line(line, sizeof line);
	snprintf(msg, sizeof msg, "%s\n%s", state, line);
	notify_send(msg);
}

void
notify_ready(void)
{
	struct timeval	tv;
	ssize_t		n;

	notify_state("READY=1");
	if (notify_ready_fd >= 0) {
		do
			n = write(notify_ready_fd, "\n", 1);
		while (n == -1 && errno == EINTR);
		if (n != 1)
			log_warn("msg=\"cannot write the readiness line\" "
			    "fd=%d", notify_ready_fd);
		close(notify_ready_fd);
		notify_ready_fd = -1;
	}
	if (getenv("NOTIFY_SOCKET") == NULL || notify_status_ev != NULL)
		return;
	tv.tv_sec = NOTIFY_STATUS_US / USEC_PER_SEC;
	tv.tv_usec = 0;
	notify_status_ev = event_new(engine->base, -1, EV_PERSIST,
	    notify_status_cb, NULL);
	if (notify_status_ev == NULL || event_add(notify_status_ev, &tv) == -1)
		log_warnx("msg=\"cannot start the STATUS= timer\"");
}

void
notify_reloading(void)
{
	char	msg[96];

	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)mono_us());
	notify_send(msg);
}

void
notify_reloaded(void)
{
	notify_state("READY=1");
}

void
notify_stopping(void)
{
	notify_state("STOPPING=1");
}

void
notify_free(void)
{
	if (notify_watchdog_ev != NULL)
		event_free(notify_watchdog_ev);
	if (notify_status_ev != NULL)
		event_free(notify_status_ev);
	notify_watchdog_ev = notify_status_ev = NULL;
	if (notify_ready_fd >= 0)
		close(notify_ready_fd);
	notify_ready_fd = -1;
}
