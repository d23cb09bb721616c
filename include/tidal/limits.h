/*
 * tidal's limits: every queue, buffer, batch and message has a named maximum
 * here, with its bound and the reason for it (SQLite's sqliteLimit.h).  Names
 * put the qualifier last: TIDAL_<THING>_<UNIT>_MAX.  Relations between the
 * limits are checked at compile time at the end of this file.
 */
#ifndef TIDAL_LIMITS_H
#define TIDAL_LIMITS_H

/* Actor names ("region-0", "shipper-1"), NUL included.  Short: the name
 * travels in every envelope. */
#define TIDAL_NAME_BYTES_MAX 48

/* URLs, NUL included.  ipc:// paths fail past ~107 characters on Linux. */
#define TIDAL_URL_BYTES_MAX 128

/* A virtual actor's key: a 128-bit session id is the largest key in use. */
#define TIDAL_KEY_BYTES_MAX 16

/* One envelope's payload.  A replicated WAL batch is the largest payload. */
#define TIDAL_PAYLOAD_BYTES_MAX (1u << 20)

/* One envelope, header included: the payload plus the fixed fields, two names,
 * two keys and a reply url. */
#define TIDAL_ENVELOPE_BYTES_MAX (TIDAL_PAYLOAD_BYTES_MAX + 512u)

/* One nng message (a frame of coalesced envelopes).  Checked by tidal on every
 * receive, because inproc ignores NNG_OPT_RECVMAXSZ. */
#define TIDAL_FRAME_BYTES_MAX (4u << 20)

/* Envelopes in one frame.  MEASURED.md: 128..256 envelopes per nng message is
 * where throughput stops improving. */
#define TIDAL_FRAME_ENVELOPES_MAX 1024u

/* A sender starts a new frame when its pending one reaches this many
 * envelopes or bytes, even while a send is in flight. */
#define TIDAL_COALESCE_ENVELOPES_MAX 256u
#define TIDAL_COALESCE_BYTES_MAX (256u << 10)

/* Envelopes queued in one outbound link before a send waits. */
#define TIDAL_LINK_ENVELOPES_MAX 65536u

/* A mailbox's bound in envelopes: default and largest allowed. */
#define TIDAL_MAILBOX_ENVELOPES_DEFAULT 4096u
#define TIDAL_MAILBOX_ENVELOPES_MAX (1u << 20)

/* Envelopes one actor handles before yielding its worker. */
#define TIDAL_HANDLER_BURST_MAX 64u

/* Socket-backed actors in one runtime: the id packs a 20-bit slot index. */
#define TIDAL_SOCKET_ACTORS_MAX (1u << 20)

/* Worker threads; the default is the number of cores. */
#define TIDAL_WORKERS_MAX 64u

/* Fault injection. */
#define TIDAL_FAULT_RULES_MAX 1024u        /* rules set at once */
#define TIDAL_REORDER_WINDOW_MAX 64u       /* envelopes held back on one link */
#define TIDAL_REORDER_HOLD_MS 20u          /* a held envelope leaves after this */
#define TIDAL_DELAY_MS_MAX 60000u          /* longest injected delay */
#define TIDAL_REPLAY_KEEP_MAX 256u         /* envelopes remembered per link */
#define TIDAL_TRACE_ENTRIES_MAX (1u << 18) /* trace ring; older entries roll off */

/* Per receiver and sender, the window in which a repeated message id is
 * recognised as a duplicate (anti-replay window, as in IPsec). */
#define TIDAL_DUP_WINDOW_IDS 256u

/* Outstanding asks from one runtime. */
#define TIDAL_ASKS_MAX 65536u

/* Pending timers in one runtime. */
#define TIDAL_TIMERS_MAX (1u << 20)

/* Supervision: restarts allowed in the window before an actor is stopped. */
#define TIDAL_RESTARTS_MAX 5u
#define TIDAL_RESTART_WINDOW_MS 10000u

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(TIDAL_ENVELOPE_BYTES_MAX <= TIDAL_FRAME_BYTES_MAX,
               "an envelope must fit in one frame");
_Static_assert(TIDAL_COALESCE_BYTES_MAX + TIDAL_ENVELOPE_BYTES_MAX <= TIDAL_FRAME_BYTES_MAX,
               "a full pending frame plus one envelope must fit in a frame");
_Static_assert(TIDAL_COALESCE_ENVELOPES_MAX < TIDAL_FRAME_ENVELOPES_MAX,
               "a sender's frame must be accepted by a receiver");
_Static_assert(TIDAL_REORDER_WINDOW_MAX <= TIDAL_REPLAY_KEEP_MAX, "reorder within replay keep");
_Static_assert(TIDAL_MAILBOX_ENVELOPES_DEFAULT <= TIDAL_MAILBOX_ENVELOPES_MAX, "default bound");
_Static_assert((TIDAL_DUP_WINDOW_IDS % 64u) == 0, "window is whole 64-bit words");
#endif

#endif /* TIDAL_LIMITS_H */
