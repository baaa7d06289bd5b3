/*
 * engine/note.c: signed notes (c2sp.org/signed-note) with Ed25519, and the
 * checkpoint a note carries (c2sp.org/tlog-checkpoint), so that tools
 * outside chime can check what it signs.
 *
 * A signed note is a text ending in a newline, a blank line, then one
 * line per signature: U+2014 (em dash), a space, the key's name, a space,
 * base64(key ID || signature), a newline.  The whole note is UTF-8 with no
 * control character but the newline.  A key's name is not empty and holds
 * no Unicode space and no '+'.  An Ed25519 key's ID is the first 4 bytes,
 * big-endian, of SHA-256(name || "\n" || 0x01 || public key), and it is
 * published as the verifier key "name+ID in hex+base64(0x01 || public
 * key)", the form golang.org/x/mod/sumdb/note reads.
 *
 * A checkpoint's text is the origin, the tree size in decimal, the
 * base64 of the RFC 6962 root (engine/merkle.c), each on its own line,
 * then optional extension lines, none empty.
 *
 * A private key is kept in a PEM file (PKCS #8) of mode 0600 that neither
 * the group nor others may open.  Keys and verifiers are read-only once
 * made: any thread may use one.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "engine.h"

#define NOTE_ALG_ED25519	0x01
#define NOTE_ED25519_LEN	32	/* a public key, and a seed */
#define NOTE_ED25519_SIG_LEN	64
#define NOTE_ID_LEN		4
#define NOTE_DASH		"\xe2\x80\x94 "	/* U+2014 and a space */
#define NOTE_DASH_LEN		4

struct note_signer {
	char		*name;
	uint32_t	 id;
	EVP_PKEY	*pkey;
	unsigned char	 pub[NOTE_ED25519_LEN];
};

struct note_verifier {
	char		*name;
	uint32_t	 id;
	EVP_PKEY	*pkey;
};

static size_t		 note_utf8(const unsigned char *, size_t,
			     uint32_t *);
static int		 note_space(uint32_t);
static int		 note_name_ok(const char *, size_t);
static int		 note_chars_ok(const char *, size_t);
static char		*note_b64(const unsigned char *, size_t);
static int		 note_unb64(const char *, size_t, unsigned char **,
			     size_t *);
static uint32_t		 note_key_id(const char *,
			     const unsigned char *);
static struct note_signer *note_signer_wrap(const char *, EVP_PKEY *,
			     char **);
static int		 note_no_passphrase(char *, int, int, void *);
static int		 note_fsync_dir(const char *, char **);
static const char	*note_line(const char *, const char *, size_t *);
static int		 note_verify_line(const struct note_verifier *,
			     const char *, size_t, const char *, size_t, int *,
			     char **);
static int		 note_parse_size(const char *, size_t, uint64_t *);

/*
 * The code point of the UTF-8 sequence at S (LEN > 0 bytes left) into
 * *CP; returns its length, or 0 when it is not valid UTF-8 (RFC 3629: no
 * overlong form, no surrogate, nothing past U+10FFFF).
 */
static size_t
note_utf8(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t	c, min;
	size_t		n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return (0);
	if (len < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	*cp = c;
	return (n);
}

/* Is CP a Unicode space (White_Space), as key names may not hold? */
static int
note_space(uint32_t cp)
{
	return ((cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000);
}

/* Is NAME (LEN bytes) a key name: UTF-8, not empty, no space, no '+'? */
static int
note_name_ok(const char *name, size_t len)
{
	const unsigned char	*s = (const unsigned char *)name;
	uint32_t		 cp;
	size_t			 i = 0, n;

	if (len == 0)
		return (0);
	while (i < len) {
		if ((n = note_utf8(s + i, len - i, &cp)) == 0)
			return (0);
		if (cp < 0x20 || cp == '+' || note_space(cp))
			return (0);
		i += n;
	}
	return (1);
}

/* Is S (LEN bytes) UTF-8 with no control character but the newline? */
static int
note_chars_ok(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 i = 0, n;

	while (i < len) {
		if ((n = note_utf8(u + i, len - i, &cp)) == 0)
			return (0);
		if (cp < 0x20 && cp != '\n')
			return (0);
		i += n;
	}
	return (1);
}

/* The standard base64 of LEN bytes at IN, padded; allocated. */
static char *
note_b64(const unsigned char *in, size_t len)
{
	char	*out;

	out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return (out);
}

/*
 * Decode LEN characters of standard, padded base64 at S into *OUT
 * (allocated) and *OUTLEN.  Strict: the length a multiple of 4, only the
 * alphabet, '=' only as the last one or two characters, the bits the
 * padding leaves over zero (one encoding per value).  Returns 0 or -1.
 */
static int
note_unb64(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	static const char	 abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*p;
	unsigned char		*buf;
	uint32_t		 acc;
	size_t			 i, j, pad = 0, n = 0;
	int			 v[4];

	*out = NULL;
	*outlen = 0;
	if (len == 0 || len % 4 != 0 || len > INT_MAX)
		return (-1);
	if (s[len - 1] == '=')
		pad = (s[len - 2] == '=') ? 2 : 1;
	buf = xmalloc(len / 4 * 3);
	for (i = 0; i < len; i += 4) {
		for (j = 0; j < 4; j++) {
			if (i + j >= len - pad) {
				v[j] = 0;
				continue;
			}
			if (s[i + j] == '\0' ||
			    (p = strchr(abc, s[i + j])) == NULL)
				goto bad;
			v[j] = (int)(p - abc);
		}
		acc = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		buf[n++] = acc >> 16;
		buf[n++] = (acc >> 8) & 0xff;
		buf[n++] = acc & 0xff;
	}
	/* The bits under the padding must be zero. */
	if ((pad == 1 && buf[n - 1] != 0) ||
	    (pad == 2 && (buf[n - 1] != 0 || buf[n - 2] != 0)))
		goto bad;
	*out = buf;
	*outlen = n - pad;
	return (0);
bad:
	free(buf);
	return (-1);
}

/* The key ID: SHA-256(NAME || "\n" || 0x01 || PUB)[:4], big-endian. */
static uint32_t
note_key_id(const char *name, const unsigned char *pub)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[EVP_MAX_MD_SIZE], alg = NOTE_ALG_ED25519;
	unsigned int	 n;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("note: out of memory");
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, name, strlen(name)) != 1 ||
	    EVP_DigestUpdate(ctx, "\n", 1) != 1 ||
	    EVP_DigestUpdate(ctx, &alg, 1) != 1 ||
	    EVP_DigestUpdate(ctx, pub, NOTE_ED25519_LEN) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &n) != 1)
		fatalx("note: SHA-256 failed");
	EVP_MD_CTX_free(ctx);
	return ((uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
	    (uint32_t)md[2] << 8 | md[3]);
}

/* A signer named NAME around the Ed25519 PKEY (taken; freed on failure). */
static struct note_signer *
note_signer_wrap(const char *name, EVP_PKEY *pkey, char **cause)
{
	struct note_signer	*s;
	size_t			 len = NOTE_ED25519_LEN;

	if (!note_name_ok(name, strlen(name))) {
		xasprintf(cause, "\"%s\" cannot name a key: it must not be "
		    "empty nor hold a space or a '+'", name);
		EVP_PKEY_free(pkey);
		return (NULL);
	}
	s = xcalloc(1, sizeof *s);
	if (EVP_PKEY_get_raw_public_key(pkey, s->pub, &len) != 1 ||
	    len != NOTE_ED25519_LEN)
		fatalx("note: no public key from an Ed25519 key");
	s->name = xstrdup(name);
	s->pkey = pkey;
	s->id = note_key_id(name, s->pub);
	return (s);
}

struct note_signer *
note_signer_generate(const char *name, char **cause)
{
	EVP_PKEY	*pkey;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
		ERR_clear_error();
		xasprintf(cause, "key %s: OpenSSL made no Ed25519 key", name);
		return (NULL);
	}
	return (note_signer_wrap(name, pkey, cause));
}

struct note_signer *
note_signer_from_seed(const char *name, const unsigned char *seed,
    char **cause)
{
	EVP_PKEY	*pkey;

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    NOTE_ED25519_LEN);
	if (pkey == NULL) {
		ERR_clear_error();
		xasprintf(cause, "key %s: OpenSSL refused the seed", name);
		return (NULL);
	}
	return (note_signer_wrap(name, pkey, cause));
}

/* The passphrase of an encrypted key: none, rather than a prompt. */
static int
note_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return (-1);
}

/*
 * OpenSSL's errors are dropped once told: its queue is the thread's, and
 * libcurl reads it after a failed TLS call.
 */
struct note_signer *
note_signer_load(const char *path, const char *name, char **cause)
{
	unsigned char	*pem;
	size_t		 len;
	BIO		*bio;
	EVP_PKEY	*pkey;

	if (secret_read_file(path, path, 0, &pem, &len, cause) != 0)
		return (NULL);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("note: out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, note_no_passphrase, NULL);
	BIO_free(bio);
	secret_free(pem, len);
	if (pkey == NULL) {
		ERR_clear_error();
		xasprintf(cause, "%s: not a PEM private key, or encrypted",
		    path);
		return (NULL);
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		xasprintf(cause, "%s: not an Ed25519 key", path);
		EVP_PKEY_free(pkey);
		return (NULL);
	}
	return (note_signer_wrap(name, pkey, cause));
}

/* fsync the directory that holds PATH, so a new name in it lasts. */
static int
note_fsync_dir(const char *path, char **cause)
{
	char		*dir, *slash;
	int		 fd, rc = 0;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		rc = -1;
	}
	if (fd != -1)
		close(fd);
	free(dir);
	return (rc);
}

/*
 * Written to a temporary file of mode 0600 beside PATH, synced, then
 * linked to PATH (which must not exist: a key is never replaced) and the
 * directory synced: PATH is the whole key or nothing.
 */
int
note_signer_save(const struct note_signer *s, const char *path, char **cause)
{
	BIO	*bio;
	char	*tmp, *pem;
	long	 len;
	int	 fd, rc = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		fatalx("note: out of memory");
	if (PEM_write_bio_PrivateKey(bio, s->pkey, NULL, NULL, 0, NULL,
	    NULL) != 1)
		fatalx("note: cannot write a PEM private key");
	len = BIO_get_mem_data(bio, &pem);
	xasprintf(&tmp, "%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) == -1 || write_all(fd, pem, len) == -1 ||
	    fsync(fd) == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (link(tmp, path) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	unlink(tmp);
	rc = note_fsync_dir(path, cause);
out:
	OPENSSL_cleanse(pem, len);
	BIO_free(bio);
	free(tmp);
	return (rc);
}

void
note_signer_free(struct note_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->pkey);
	free(s->name);
	free(s);
}

const char *
note_signer_name(const struct note_signer *s)
{
	return (s->name);
}

uint32_t
note_signer_id(const struct note_signer *s)
{
	return (s->id);
}

char *
note_signer_vkey(const struct note_signer *s)
{
	unsigned char	 key[1 + NOTE_ED25519_LEN];
	char		*b64, *out;

	key[0] = NOTE_ALG_ED25519;
	memcpy(key + 1, s->pub, NOTE_ED25519_LEN);
	b64 = note_b64(key, sizeof key);
	xasprintf(&out, "%s+%08" PRIx32 "+%s", s->name, s->id, b64);
	free(b64);
	return (out);
}

char *
note_sign(const struct note_signer *s, const char *text, size_t len,
    char **cause)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 sig[NOTE_ID_LEN + NOTE_ED25519_SIG_LEN];
	size_t		 siglen = NOTE_ED25519_SIG_LEN;
	char		*b64, *out;

	if (len == 0 || text[len - 1] != '\n') {
		xasprintf(cause, "a note's text must end in a newline");
		return (NULL);
	}
	if (!note_chars_ok(text, len)) {
		xasprintf(cause, "a note's text must be UTF-8 with no "
		    "control character but the newline");
		return (NULL);
	}
	sig[0] = s->id >> 24;
	sig[1] = (s->id >> 16) & 0xff;
	sig[2] = (s->id >> 8) & 0xff;
	sig[3] = s->id & 0xff;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("note: out of memory");
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig + NOTE_ID_LEN, &siglen,
	    (const unsigned char *)text, len) != 1 ||
	    siglen != NOTE_ED25519_SIG_LEN)
		fatalx("note: Ed25519 signing failed");
	EVP_MD_CTX_free(ctx);
	b64 = note_b64(sig, sizeof sig);
	xasprintf(&out, "%.*s\n" NOTE_DASH "%s %s\n", (int)len, text, s->name,
	    b64);
	free(b64);
	return (out);
}

struct note_verifier *
note_verifier_parse(const char *vkey, char **cause)
{
	struct note_verifier	*v;
	const char		*plus1, *plus2, *p;
	unsigned char		*key;
	size_t			 keylen;
	uint32_t		 id = 0;
	char			*name;

	if ((plus1 = strchr(vkey, '+')) == NULL ||
	    (plus2 = strchr(plus1 + 1, '+')) == NULL ||
	    plus2 - plus1 != 9 || !note_name_ok(vkey, plus1 - vkey))
		goto bad;
	for (p = plus1 + 1; p < plus2; p++) {
		if (*p >= '0' && *p <= '9')
			id = id << 4 | (uint32_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			id = id << 4 | (uint32_t)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			id = id << 4 | (uint32_t)(*p - 'A' + 10);
		else
			goto bad;
	}
	if (note_unb64(plus2 + 1, strlen(plus2 + 1), &key, &keylen) != 0)
		goto bad;
	if (keylen != 1 + NOTE_ED25519_LEN || key[0] != NOTE_ALG_ED25519) {
		free(key);
		goto bad;
	}
	name = xstrndup(vkey, plus1 - vkey);
	if (note_key_id(name, key + 1) != id) {
		xasprintf(cause, "verifier key %s: the key ID is not its "
		    "key's", name);
		free(name);
		free(key);
		return (NULL);
	}
	v = xcalloc(1, sizeof *v);
	v->name = name;
	v->id = id;
	v->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
	    key + 1, NOTE_ED25519_LEN);
	free(key);
	if (v->pkey == NULL) {
		ERR_clear_error();
		xasprintf(cause, "verifier key %s: not an Ed25519 key", name);
		note_verifier_free(v);
		return (NULL);
	}
	return (v);
bad:
	xasprintf(cause, "a verifier key is NAME+ID+KEY: a key name, 8 hex "
	    "digits and the base64 of 0x01 and an Ed25519 key");
	return (NULL);
}

void
note_verifier_free(struct note_verifier *v)
{
	if (v == NULL)
		return;
	EVP_PKEY_free(v->pkey);
	free(v->name);
	free(v);
}

const char *
note_verifier_name(const struct note_verifier *v)
{
	return (v->name);
}

uint32_t
note_verifier_id(const struct note_verifier *v)
{
	return (v->id);
}

/*
 * The line at P (before END) without its newline: returns its end and
 * sets *LEN; NULL when no newline is left.
 */
static const char *
note_line(const char *p, const char *end, size_t *len)
{
	const char	*nl;

	if ((nl = memchr(p, '\n', end - p)) == NULL)
		return (NULL);
	*len = nl - p;
	return (nl);
}

/*
 * One signature line (LINE, LEN bytes, no newline) of a note whose text
 * is TEXT (TEXTLEN bytes): malformed is an error; a signature by V's
 * name and ID must verify (then *OK is set); any other is ignored.
 */
static int
note_verify_line(const struct note_verifier *v, const char *line, size_t len,
    const char *text, size_t textlen, int *ok, char **cause)
{
	EVP_MD_CTX	*ctx;
	const char	*name, *sp;
	unsigned char	*sig;
	size_t		 namelen, siglen;
	uint32_t	 id;
	int		 good;

	if (len < NOTE_DASH_LEN || memcmp(line, NOTE_DASH, NOTE_DASH_LEN) != 0)
		goto bad;
	name = line + NOTE_DASH_LEN;
	if ((sp = memchr(name, ' ', line + len - name)) == NULL)
		goto bad;
	namelen = sp - name;
	if (!note_name_ok(name, namelen) ||
	    note_unb64(sp + 1, line + len - sp - 1, &sig, &siglen) != 0)
		goto bad;
	if (siglen <= NOTE_ID_LEN) {
		free(sig);
		goto bad;
	}
	id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 |
	    (uint32_t)sig[2] << 8 | sig[3];
	if (id != v->id || namelen != strlen(v->name) ||
	    memcmp(name, v->name, namelen) != 0) {
		free(sig);
		return (0);
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("note: out of memory");
	good = siglen == NOTE_ID_LEN + NOTE_ED25519_SIG_LEN &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, v->pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig + NOTE_ID_LEN, siglen - NOTE_ID_LEN,
	    (const unsigned char *)text, textlen) == 1;
	EVP_MD_CTX_free(ctx);
	free(sig);
	if (!good) {
		ERR_clear_error();
		xasprintf(cause, "the signature by key %s+%08" PRIx32 " does "
		    "not verify", v->name, v->id);
		return (-1);
	}
	*ok = 1;
	return (0);
bad:
	xasprintf(cause, "malformed note: a bad signature line");
	return (-1);
}

/*
 * The text is what comes before the last blank line, the signatures what
 * follows it; past NOTE_MAX_SIGNATURES signature lines the note is
 * refused.
 */
char *
note_verify(const struct note_verifier *v, const char *msg, size_t len,
    char **cause)
{
	const char	*split = NULL, *p, *end = msg + len, *nl;
	size_t		 i, textlen, linelen = 0;
	int		 lines = 0, ok = 0;

	if (!note_chars_ok(msg, len)) {
		xasprintf(cause, "malformed note: not UTF-8, or a control "
		    "character other than the newline");
		return (NULL);
	}
	for (i = len; i >= 2; i--) {
		if (msg[i - 1] == '\n' && msg[i - 2] == '\n') {
			split = msg + i - 2;
			break;
		}
	}
	if (split == NULL || split + 2 == end || end[-1] != '\n') {
		xasprintf(cause, "malformed note: no signature after a blank "
		    "line, or no newline at the end");
		return (NULL);
	}
	textlen = split + 1 - msg;
	/* The signatures end in a newline: each line has one. */
	for (p = split + 2; p < end; p = nl + 1) {
		if ((nl = note_line(p, end, &linelen)) == NULL)
			break;
		if (++lines > NOTE_MAX_SIGNATURES) {
			xasprintf(cause, "malformed note: more than %d "
			    "signatures", NOTE_MAX_SIGNATURES);
			return (NULL);
		}
		if (note_verify_line(v, p, linelen, msg, textlen, &ok,
		    cause) != 0)
			return (NULL);
	}
	if (!ok) {
		xasprintf(cause, "the note is not signed by key %s+%08" PRIx32,
		    v->name, v->id);
		return (NULL);
	}
	return (xstrndup(msg, textlen));
}

char *
note_checkpoint_format(const char *origin, uint64_t size,
    const unsigned char *root, const char *extensions, char **cause)
{
	size_t	 elen = extensions == NULL ? 0 : strlen(extensions);
	char	*b64, *out;

	if (!note_name_ok(origin, strlen(origin))) {
		xasprintf(cause, "checkpoint origin \"%s\": it must not be "
		    "empty nor hold a space or a '+'", origin);
		return (NULL);
	}
	if (elen != 0 && (extensions[elen - 1] != '\n' ||
	    extensions[0] == '\n' || strstr(extensions, "\n\n") != NULL ||
	    !note_chars_ok(extensions, elen))) {
		xasprintf(cause, "checkpoint extension lines must each end in "
		    "a newline, be UTF-8 and not be empty");
		return (NULL);
	}
	b64 = note_b64(root, MERKLE_HASH_LEN);
	xasprintf(&out, "%s\n%" PRIu64 "\n%s\n%s", origin, size, b64,
	    extensions == NULL ? "" : extensions);
	free(b64);
	return (out);
}

/* A tree size: decimal, no sign, no leading zero unless it is 0. */
static int
note_parse_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return (-1);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return (0);
}

struct note_checkpoint *
note_checkpoint_parse(const char *text, size_t len, char **cause)
{
	struct note_checkpoint	*c;
	const char		*p = text, *end = text + len, *nl[3];
	unsigned char		*root;
	size_t			 l[3], rootlen;
	int			 i;

	if (!note_chars_ok(text, len))
		goto bad;
	for (i = 0; i < 3; i++) {
		if ((nl[i] = note_line(p, end, &l[i])) == NULL || l[i] == 0)
			goto bad;
		p = nl[i] + 1;
	}
	/* Extension lines: each ends in a newline, none is empty. */
	if (p != end && (end[-1] != '\n' || p[0] == '\n' ||
	    memmem(p, end - p, "\n\n", 2) != NULL))
		goto bad;
	c = xcalloc(1, sizeof *c);
	if (note_parse_size(nl[0] + 1, l[1], &c->size) != 0 ||
	    note_unb64(nl[1] + 1, l[2], &root, &rootlen) != 0) {
		free(c);
		goto bad;
	}
	if (rootlen != MERKLE_HASH_LEN) {
		free(root);
		free(c);
		goto bad;
	}
	memcpy(c->root, root, MERKLE_HASH_LEN);
	free(root);
	c->origin = xstrndup(text, l[0]);
	c->extensions = xstrndup(p, end - p);
	return (c);
bad:
	xasprintf(cause, "malformed checkpoint: it is an origin, a tree size "
	    "in decimal, the base64 of a 32-byte root and extension lines, "
	    "each line ending in a newline and none empty");
	return (NULL);
}

void
note_checkpoint_free(struct note_checkpoint *c)
{
	if (c == NULL)
		return;
	free(c->origin);
	free(c->extensions);
	free(c);
}
