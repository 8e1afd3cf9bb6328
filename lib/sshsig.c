/* sshsig: OpenSSH SSHSIG signatures (PROTOCOL.sshsig), verified and made with OpenSSL */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <spawn.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include "proc.h"
#include "sshsig.h"
#include "store.h"
#include "util.h"

#define SIG_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define SIG_END "-----END SSH SIGNATURE-----"
#define KEY_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define KEY_END "-----END OPENSSH PRIVATE KEY-----"
#define KEY_MAGIC "openssh-key-v1"	/* and its NUL */
#define SIG_MAGIC "SSHSIG"
#define SIG_WRAP 70
#define PRIVATE_WHERE_PUBLIC "a private key where a public key is expected"

/* bounds on what we read from outside: far above any real key or signature */
enum { MAX_TEXT = 1 << 20, MAX_LINE = 16384, MAX_BIGNUM = 16384 / 8, RSA_MIN_BITS = 1024 };

enum kind { K_ED25519, K_ECDSA, K_RSA };

static const struct ktype {
	const char *name;
	enum kind kind;
	const char *curve;	/* the name inside an ECDSA key */
	const char *group;	/* OpenSSL's name of that curve */
	size_t field;	/* bytes of a coordinate */
	const EVP_MD *(*md)(void);	/* ECDSA's hash */
} ktypes[] = {
	{"ssh-ed25519", K_ED25519, NULL, NULL, 0, NULL},
	{"ecdsa-sha2-nistp256", K_ECDSA, "nistp256", "P-256", 32, EVP_sha256},
	{"ecdsa-sha2-nistp384", K_ECDSA, "nistp384", "P-384", 48, EVP_sha384},
	{"ecdsa-sha2-nistp521", K_ECDSA, "nistp521", "P-521", 66, EVP_sha512},
	{"ssh-rsa", K_RSA, NULL, NULL, 0, NULL},
};

/* a bounded reader over SSH wire encoding: every length is checked against what is left */
typedef struct {
	const unsigned char *p;
	size_t n;
} rd;

static int
get_u32(rd *r, uint32_t *v)
{
	if (r->n < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return 0;
}

static int
get_str(rd *r, rd *s)
{
	uint32_t len;
	rd save = *r;

	if (get_u32(r, &len) < 0 || len > r->n) {
		*r = save;
		return -1;
	}
	s->p = r->p;
	s->n = len;
	r->p += len;
	r->n -= len;
	return 0;
}

static int
str_is(const rd *s, const char *lit)
{
	return s->n == strlen(lit) && memcmp(s->p, lit, s->n) == 0;
}

/*
 * An mpint that must be positive (or zero), without its sign byte; NULL when malformed. A
 * secret one is cleared when freed (BN_clear_free).
 */
static BIGNUM *
get_bn(rd *r, int secret)
{
	rd s;
	BIGNUM *b;

	if (get_str(r, &s) < 0 || (s.n > 0 && (s.p[0] & 0x80)) || s.n > MAX_BIGNUM + 1 ||
	    (s.n == MAX_BIGNUM + 1 && s.p[0] != 0))
		return NULL;
	if (!(b = secret ? BN_secure_new() : BN_new()))
		return NULL;
	if (!BN_bin2bn(s.p, (int)s.n, b)) {
		BN_clear_free(b);
		return NULL;
	}
	return b;
}

static BIGNUM *
get_mpint(rd *r)
{
	return get_bn(r, 0);
}

/* a growing buffer for SSH wire encoding */
typedef struct {
	unsigned char *p;
	size_t n, cap;
} wb;

static void
put(wb *w, const void *d, size_t n)
{
	if (w->cap - w->n < n) {
		w->cap = w->cap * 2 + n + 64;
		w->p = xrealloc(w->p, w->cap);
	}
	if (n)
		memcpy(w->p + w->n, d, n);
	w->n += n;
}

static void
put_u32(wb *w, uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};

	put(w, b, 4);
}

static void
put_str(wb *w, const void *d, size_t n)
{
	put_u32(w, (uint32_t)n);
	put(w, d, n);
}

static void
put_cstr(wb *w, const char *s)
{
	put_str(w, s, strlen(s));
}

static void
put_mpint(wb *w, const BIGNUM *b)
{
	int n = BN_num_bytes(b);
	unsigned char *t = xmalloc((size_t)n + 1);

	t[0] = 0;
	BN_bn2bin(b, t + 1);
	if (n > 0 && (t[1] & 0x80))
		put_str(w, t, (size_t)n + 1);
	else
		put_str(w, t + 1, (size_t)n);
	free(t);
}

static const struct ktype *
ktype_find(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof ktypes / sizeof *ktypes; i++)
		if (strlen(ktypes[i].name) == n && memcmp(ktypes[i].name, name, n) == 0)
			return &ktypes[i];
	return NULL;
}

/* base64 without whitespace into a malloc'd buffer; -1 when it is not base64 */
static int
b64_decode(const char *s, size_t n, unsigned char **out, size_t *outn)
{
	char *t;
	size_t m = 0, pad = 0;
	int r;

	if (n > MAX_TEXT)
		return -1;
	t = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=')
			pad++;
		else if (pad || !(isalnum(c) || c == '+' || c == '/'))
			goto bad;
		t[m++] = (char)c;
	}
	if (m == 0 || m % 4 || pad > 2)
		goto bad;
	*out = xmalloc(m / 4 * 3 + 1);
	r = EVP_DecodeBlock(*out, (const unsigned char *)t, (int)m);
	OPENSSL_cleanse(t, m);
	free(t);
	if (r < 0 || (size_t)r < pad) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*outn = (size_t)r - pad;
	return 0;
bad:
	OPENSSL_cleanse(t, n);
	free(t);
	return -1;
}

static char *
b64_encode(const unsigned char *b, size_t n)
{
	char *t = xmalloc((n + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)t, b, (int)n);
	return t;
}

/* the printable part of untrusted text, for a message (at most 64 characters) */
static char *
shown(const rd *s)
{
	size_t n = s->n < 64 ? s->n : 64;
	char *t = xmalloc(n + 4);

	for (size_t i = 0; i < n; i++)
		t[i] = s->p[i] >= 0x20 && s->p[i] < 0x7f && s->p[i] != '\'' ? (char)s->p[i] : '?';
	strcpy(t + n, s->n > n ? "..." : "");
	return t;
}

static EVP_PKEY *
from_params(const char *alg, OSSL_PARAM_BLD *b, int selection)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pk = NULL;

	if (!params || !c || EVP_PKEY_fromdata_init(c) <= 0 ||
	    EVP_PKEY_fromdata(c, &pk, selection, params) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(c);
	for (OSSL_PARAM *p = params; p && p->key; p++)
		OPENSSL_cleanse(p->data, p->data_size);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
ec_key(const struct ktype *kt, const rd *q, const BIGNUM *d)
{
	OSSL_PARAM_BLD *b;
	EVP_PKEY *pk = NULL;

	/* uncompressed points only, as OpenSSH writes them */
	if (q->n != 1 + 2 * kt->field || q->p[0] != 0x04 || !(b = OSSL_PARAM_BLD_new()))
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, kt->group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, q->p, q->n) &&
	    (!d || OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d)))
		pk = from_params("EC", b, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
	OSSL_PARAM_BLD_free(b);
	return pk;
}

/* the RSA key of n and e, and when d is given, its private half (p, q, iqmp) */
static EVP_PKEY *
rsa_key(const BIGNUM *n, const BIGNUM *e, const BIGNUM *d, const BIGNUM *p, const BIGNUM *q,
    const BIGNUM *iqmp)
{
	OSSL_PARAM_BLD *b;
	EVP_PKEY *pk = NULL;
	BIGNUM *dp = NULL, *dq = NULL, *t = NULL;
	BN_CTX *ctx = NULL;
	int ok;

	if (BN_num_bits(n) < RSA_MIN_BITS || BN_num_bits(n) > MAX_BIGNUM * 8 || BN_is_zero(e) ||
	    !(b = OSSL_PARAM_BLD_new()))
		return NULL;
	ok = OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
	if (ok && d) {
		/* OpenSSH keeps no CRT exponents: d mod (p-1), d mod (q-1) */
		ok = (ctx = BN_CTX_secure_new()) && (dp = BN_secure_new()) &&
		    (dq = BN_secure_new()) && (t = BN_secure_new()) &&
		    BN_sub(t, p, BN_value_one()) && BN_mod(dp, d, t, ctx) &&
		    BN_sub(t, q, BN_value_one()) && BN_mod(dq, d, t, ctx) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, d) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, p) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, q) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp);
	}
	if (ok)
		pk = from_params("RSA", b, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
	OSSL_PARAM_BLD_free(b);
	BN_clear_free(dp);
	BN_clear_free(dq);
	BN_clear_free(t);
	BN_CTX_free(ctx);
	return pk;
}

/*
 * The key of a public key blob (string type, then its fields, nothing after): the key, *ktp its
 * type; NULL and *why when it is not one we know or its fields are not a key.
 */
static EVP_PKEY *
blob_key(const unsigned char *blob, size_t n, const struct ktype **ktp, const char **why)
{
	rd r = {blob, n}, type, a;
	const struct ktype *kt;
	EVP_PKEY *pk = NULL;

	*why = "truncated key";
	if (get_str(&r, &type) < 0)
		return NULL;
	if (!(kt = ktype_find((const char *)type.p, type.n))) {
		*why = "unsupported key type";
		return NULL;
	}
	*ktp = kt;
	if (kt->kind == K_ED25519) {
		if (get_str(&r, &a) < 0)
			return NULL;
		if (a.n == 32)
			pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a.p, 32);
	} else if (kt->kind == K_ECDSA) {
		rd curve;

		if (get_str(&r, &curve) < 0 || get_str(&r, &a) < 0)
			return NULL;
		if (str_is(&curve, kt->curve))
			pk = ec_key(kt, &a, NULL);
	} else {
		BIGNUM *e = get_mpint(&r), *m = e ? get_mpint(&r) : NULL;

		if (e && m)
			pk = rsa_key(m, e, NULL, NULL, NULL, NULL);
		BN_free(e);
		BN_free(m);
		if (!e || !m)
			return NULL;
	}
	if (pk && r.n) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	ERR_clear_error();
	if (!pk)
		*why = "its fields are not a valid key of its type";
	return pk;
}

/* the blob of a "KEYTYPE BASE64 [COMMENT]" line, *rest what follows it; -1 and *err */
static int
line_blob(const char *line, unsigned char **blob, size_t *blobn, const struct ktype **kt,
    const char **rest, char **err)
{
	const char *s = line + strspn(line, " \t"), *e = s + strcspn(s, " \t\r\n");
	const char *bs, *be, *why;
	EVP_PKEY *pk;
	rd r, type;

	*err = NULL;
	if (!strncmp(s, "-----BEGIN", 10) && memmem(s, strcspn(s, "\n"), "PRIVATE KEY", 11)) {
		*err = xstrdup(PRIVATE_WHERE_PUBLIC);
		return -1;
	}
	if (strlen(s) > MAX_LINE) {
		*err = xstrdup("not an SSH public key: the line is too long");
		return -1;
	}
	if (!(*kt = ktype_find(s, (size_t)(e - s)))) {
		rd t = {(const unsigned char *)s, (size_t)(e - s)};
		char *v = shown(&t);

		*err = e == s ? xstrdup("not an SSH public key: the line is empty") :
		    xasprintf("not an SSH public key: unsupported key type '%s' (ssh-ed25519, "
		    "ecdsa-sha2-nistp256/384/521 or ssh-rsa)", v);
		free(v);
		return -1;
	}
	bs = e + strspn(e, " \t");
	be = bs + strcspn(bs, " \t\r\n");
	if (be == bs || b64_decode(bs, (size_t)(be - bs), blob, blobn) < 0) {
		*err = xstrdup("not an SSH public key: the key after its type is not base64");
		return -1;
	}
	r = (rd){*blob, *blobn};
	if (get_str(&r, &type) < 0 || !str_is(&type, (*kt)->name)) {
		*err = xasprintf("not an SSH public key: the key is not of its stated type '%s'",
		    (*kt)->name);
		goto fail;
	}
	if (!(pk = blob_key(*blob, *blobn, kt, &why))) {
		*err = xasprintf("not an SSH public key: %s", why);
		goto fail;
	}
	EVP_PKEY_free(pk);
	*rest = be;
	return 0;
fail:
	free(*blob);
	*blob = NULL;
	return -1;
}

int
sshsig_pubkey_parse(const char *line, char **type, char **b64, char **comment, char **err)
{
	unsigned char *blob;
	size_t n;
	const struct ktype *kt;
	const char *be, *c;
	size_t cn;

	if (line_blob(line, &blob, &n, &kt, &be, err) < 0)
		return -1;
	if (type)
		*type = xstrdup(kt->name);
	if (b64)
		*b64 = b64_encode(blob, n);
	free(blob);
	if (comment) {
		c = be + strspn(be, " \t");
		cn = strcspn(c, "\r\n");
		while (cn > 0 && (c[cn - 1] == ' ' || c[cn - 1] == '\t'))
			cn--;
		*comment = cn ? strndup(c, cn) : NULL;
	}
	return 0;
}

int
sshsig_pubkey_load(const char *path, char **type, char **b64, char **comment, char **err)
{
	size_t len;
	char *text = store_slurp(path, &len), *s, *line;
	int r = -1;

	*err = NULL;
	if (!text) {
		*err = xasprintf("cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if (strstr(text, "PRIVATE KEY-----")) {
		OPENSSL_cleanse(text, len);
		free(text);
		*err = xasprintf("'%s': " PRIVATE_WHERE_PUBLIC " (give the .pub file)", path);
		return -1;
	}
	for (s = text; *s; s += strcspn(s, "\n") + (s[strcspn(s, "\n")] == '\n')) {
		line = s + strspn(s, " \t\r");
		if (*line == '\n' || *line == '#' || !*line)
			continue;
		line = strndup(line, strcspn(line, "\n"));
		r = sshsig_pubkey_parse(line, type, b64, comment, err);
		free(line);
		break;
	}
	if (r < 0) {
		char *e = *err;

		*err = xasprintf("'%s': %s", path, e ? e : "not an SSH public key: no key line");
		free(e);
	}
	free(text);
	return r;
}

static char *
fingerprint_blob(const unsigned char *blob, size_t n)
{
	unsigned char md[32];
	char *b, *fp;
	size_t l;

	if (!EVP_Digest(blob, n, md, NULL, EVP_sha256(), NULL))
		die(EXIT_WORK, "SHA-256 failed");
	b = b64_encode(md, sizeof md);
	l = strlen(b);
	while (l > 0 && b[l - 1] == '=')
		b[--l] = 0;
	fp = xasprintf("SHA256:%s", b);
	free(b);
	return fp;
}

char *
sshsig_fingerprint(const char *pubkey)
{
	unsigned char *blob;
	size_t n;
	const struct ktype *kt;
	const char *rest;
	char *err, *fp;

	if (line_blob(pubkey, &blob, &n, &kt, &rest, &err) < 0) {
		free(err);
		return NULL;
	}
	fp = fingerprint_blob(blob, n);
	free(blob);
	return fp;
}

/* the binary of an armored signature; -1 and *why */
static int
dearmor(const char *sig, size_t len, unsigned char **out, size_t *outn, const char **why)
{
	size_t bl = strlen(SIG_BEGIN), i;
	const char *body, *end;

	*why = "not an SSH signature: no " SIG_BEGIN " line";
	if (len > MAX_TEXT) {
		*why = "not an SSH signature: too large";
		return -1;
	}
	if (len < bl || memcmp(sig, SIG_BEGIN, bl))
		return -1;
	for (i = bl; i < len && (sig[i] == '\r' || sig[i] == ' ' || sig[i] == '\t'); i++)
		;
	if (i == len || sig[i] != '\n')
		return -1;
	body = sig + i + 1;
	end = memmem(body, len - (size_t)(body - sig), SIG_END, strlen(SIG_END));
	if (!end) {
		*why = "truncated signature: no " SIG_END " line";
		return -1;
	}
	for (const char *t = end + strlen(SIG_END); t < sig + len; t++)
		if (!isspace((unsigned char)*t)) {
			*why = "not an SSH signature: text after its " SIG_END " line";
			return -1;
		}
	if (b64_decode(body, (size_t)(end - body), out, outn) < 0) {
		*why = "not an SSH signature: its body is not base64";
		return -1;
	}
	return 0;
}

/* the fields of a signature's binary */
typedef struct {
	rd key, ns, hash, sig;
} sigparts;

static int
sig_parse(const unsigned char *b, size_t n, sigparts *s, char **err)
{
	rd r = {b, n}, reserved;
	uint32_t version;
	size_t ml = strlen(SIG_MAGIC);

	if (n >= ml && memcmp(b, SIG_MAGIC, ml)) {
		*err = xstrdup("not an SSH signature: no SSHSIG magic");
		return -1;
	}
	if (n < ml)
		goto truncated;
	r.p += ml;
	r.n -= ml;
	if (get_u32(&r, &version) < 0)
		goto truncated;
	if (version != 1) {
		*err = xasprintf("unsupported signature version %u", (unsigned)version);
		return -1;
	}
	/* the reserved field is not used, and not signed: ssh-keygen ignores what it holds */
	if (get_str(&r, &s->key) < 0 || get_str(&r, &s->ns) < 0 || get_str(&r, &reserved) < 0 ||
	    get_str(&r, &s->hash) < 0 || get_str(&r, &s->sig) < 0)
		goto truncated;
	if (r.n) {
		*err = xstrdup("not an SSH signature: data after its signature");
		return -1;
	}
	return 0;
truncated:
	*err = xstrdup("truncated signature");
	return -1;
}

static const EVP_MD *
hash_md(const rd *h)
{
	return str_is(h, "sha512") ? EVP_sha512() : str_is(h, "sha256") ? EVP_sha256() : NULL;
}

/* "SSHSIG" || string(ns) || string("") || string(hashalg) || string(H(msg)) */
static void
signed_data(wb *w, const char *ns, const char *hashalg, const EVP_MD *md, const void *msg,
    size_t msglen)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl;

	if (!EVP_Digest(msg, msglen, h, &hl, md, NULL))
		die(EXIT_WORK, "%s failed", hashalg);
	put(w, SIG_MAGIC, strlen(SIG_MAGIC));
	put_cstr(w, ns);
	put_str(w, "", 0);
	put_cstr(w, hashalg);
	put_str(w, h, hl);
}

/* the DER ECDSA-Sig-Value of SSH's (mpint r, mpint s); NULL when malformed */
static unsigned char *
ecdsa_der(const rd *inner, int *dern)
{
	rd r = *inner;
	BIGNUM *br = get_mpint(&r), *bs = br ? get_mpint(&r) : NULL;
	ECDSA_SIG *es = NULL;
	unsigned char *der = NULL;

	if (br && bs && !r.n && (es = ECDSA_SIG_new()) && ECDSA_SIG_set0(es, br, bs)) {
		br = bs = NULL;
		if ((*dern = i2d_ECDSA_SIG(es, &der)) <= 0)
			der = NULL;
	}
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return der;
}

/* check an SSH signature blob over data with key pk of type kt; 0, or -1 and *why */
static int
sig_check(const struct ktype *kt, EVP_PKEY *pk, const rd *blob, const wb *data, const char **why)
{
	rd r = *blob, type, raw;
	const EVP_MD *md = NULL;
	unsigned char *der = NULL, *padded = NULL;
	const unsigned char *s;
	size_t sn;
	EVP_MD_CTX *c;
	int ok = 0, dern = 0;

	*why = "truncated signature";
	if (get_str(&r, &type) < 0 || get_str(&r, &raw) < 0)
		return -1;
	*why = "bad signature";
	if (r.n)
		return -1;
	s = raw.p;
	sn = raw.n;
	if (kt->kind == K_RSA) {
		size_t mod = (size_t)EVP_PKEY_get_size(pk);

		if (str_is(&type, "rsa-sha2-512"))
			md = EVP_sha512();
		else if (str_is(&type, "rsa-sha2-256"))
			md = EVP_sha256();
		else {
			*why = str_is(&type, "ssh-rsa") ?
			    "legacy ssh-rsa (SHA-1) signature refused" :
			    "bad signature: its type is not its key's";
			return -1;
		}
		/* OpenSSH accepts a signature shorter than the modulus: its leading zeros left out */
		if (sn > mod)
			return -1;
		if (sn < mod) {
			padded = xcalloc(1, mod);
			memcpy(padded + mod - sn, s, sn);
			s = padded;
			sn = mod;
		}
	} else if (!str_is(&type, kt->name)) {
		*why = "bad signature: its type is not its key's";
		return -1;
	} else if (kt->kind == K_ECDSA) {
		md = kt->md();
		if (!(der = ecdsa_der(&raw, &dern)))
			return -1;
		s = der;
		sn = (size_t)dern;
	} else if (sn != 64)
		return -1;
	if ((c = EVP_MD_CTX_new()) && EVP_DigestVerifyInit(c, NULL, md, NULL, pk) == 1 &&
	    EVP_DigestVerify(c, s, sn, data->p, data->n) == 1)
		ok = 1;
	EVP_MD_CTX_free(c);
	OPENSSL_free(der);
	free(padded);
	ERR_clear_error();
	return ok ? 0 : -1;
}

int
sshsig_verify(const char *sig, size_t siglen, const void *msg, size_t msglen, const char *ns,
    const char *pubkey, char **err)
{
	unsigned char *bin = NULL, *kblob = NULL;
	size_t binn, kn;
	const struct ktype *kt;
	const char *rest, *why;
	char *e, *hashalg = NULL;
	sigparts p;
	const EVP_MD *md;
	EVP_PKEY *pk = NULL;
	wb data = {0};
	int r = -1;

	*err = NULL;
	if (line_blob(pubkey, &kblob, &kn, &kt, &rest, &e) < 0) {
		*err = xasprintf("the trusted key: %s", e);
		free(e);
		return -1;
	}
	if (dearmor(sig, siglen, &bin, &binn, &why) < 0) {
		*err = xstrdup(why);
		goto out;
	}
	if (sig_parse(bin, binn, &p, err) < 0)
		goto out;
	if (!str_is(&p.ns, ns)) {
		e = shown(&p.ns);
		*err = xasprintf("signature is for namespace '%s', not '%s'", e, ns);
		free(e);
		goto out;
	}
	if (!(md = hash_md(&p.hash))) {
		e = shown(&p.hash);
		*err = xasprintf("unsupported hash algorithm '%s' (sha256 or sha512)", e);
		free(e);
		goto out;
	}
	if (p.key.n != kn || memcmp(p.key.p, kblob, kn)) {
		e = fingerprint_blob(p.key.p, p.key.n);
		*err = xasprintf("signed by another key (%s)", e);
		free(e);
		goto out;
	}
	if (!(pk = blob_key(kblob, kn, &kt, &why))) {
		*err = xasprintf("the trusted key: %s", why);
		goto out;
	}
	hashalg = strndup((const char *)p.hash.p, p.hash.n);
	signed_data(&data, ns, hashalg, md, msg, msglen);
	if (sig_check(kt, pk, &p.sig, &data, &why) < 0) {
		*err = xstrdup(why);
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_free(pk);
	free(hashalg);
	free(data.p);
	free(bin);
	free(kblob);
	return r;
}

/* ssh-keygen's armor: base64 at 70 columns between the BEGIN and END lines */
static char *
armor(const unsigned char *b, size_t n, size_t *len)
{
	char *t = b64_encode(b, n), *out;
	size_t m = strlen(t), o;

	out = xmalloc(strlen(SIG_BEGIN) + strlen(SIG_END) + m + m / SIG_WRAP + 4);
	o = (size_t)sprintf(out, "%s\n", SIG_BEGIN);
	for (size_t i = 0; i < m; i += SIG_WRAP) {
		size_t l = m - i < SIG_WRAP ? m - i : SIG_WRAP;

		memcpy(out + o, t + i, l);
		o += l;
		out[o++] = '\n';
	}
	o += (size_t)sprintf(out + o, "%s\n", SIG_END);
	free(t);
	*len = o;
	return out;
}

/* the private key of an unencrypted OpenSSH key file */
typedef struct {
	const struct ktype *kt;
	EVP_PKEY *pk;
	rd pub;	/* its public key blob (inside bin) */
	unsigned char *bin;	/* the decoded file, cleared when done */
	size_t binn;
} privkey;

static void
privkey_free(privkey *k)
{
	EVP_PKEY_free(k->pk);
	if (k->bin)
		OPENSSL_cleanse(k->bin, k->binn);
	free(k->bin);
}

static EVP_PKEY *
ed25519_private(const rd *pub, const rd *sec)
{
	unsigned char derived[32];
	size_t dn = sizeof derived;
	EVP_PKEY *pk;

	/* OpenSSH keeps seed || public key */
	if (pub->n != 32 || sec->n != 64 || memcmp(sec->p + 32, pub->p, 32))
		return NULL;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sec->p, 32);
	if (pk && (EVP_PKEY_get_raw_public_key(pk, derived, &dn) != 1 || dn != 32 ||
	    memcmp(derived, pub->p, 32))) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

static EVP_PKEY *
rsa_private(rd *r)
{
	BIGNUM *b[6] = {0};	/* n e d iqmp p q, in the file's order */
	EVP_PKEY *pk = NULL;
	int i;

	for (i = 0; i < 6 && (b[i] = get_bn(r, i >= 2)); i++)
		;
	if (i == 6)
		pk = rsa_key(b[0], b[1], b[2], b[4], b[5], b[3]);
	for (i = 0; i < 6; i++)
		BN_clear_free(b[i]);
	return pk;
}

/*
 * Read an OpenSSH private key file's text (openssh-key-v1): 0 and *k when it is unencrypted and
 * of a type signed here; 1 when ssh-keygen must sign with it (encrypted, FIDO or another
 * type); -1 and *why when it is not a key file.
 */
static int
privkey_read(const char *text, size_t len, privkey *k, const char **why)
{
	const char *b = text + strlen(KEY_BEGIN), *e = memmem(b, len - strlen(KEY_BEGIN), KEY_END,
	    strlen(KEY_END));
	rd r, cipher, kdf, kdfopt, sec, type, a, c;
	uint32_t nkeys, c1, c2;
	size_t ml = sizeof KEY_MAGIC;

	memset(k, 0, sizeof *k);
	*why = "not an OpenSSH private key";
	if (!e || b64_decode(b, (size_t)(e - b), &k->bin, &k->binn) < 0)
		return -1;
	r = (rd){k->bin, k->binn};
	if (r.n < ml || memcmp(r.p, KEY_MAGIC, ml))
		return -1;
	r.p += ml;
	r.n -= ml;
	*why = "truncated private key";
	if (get_str(&r, &cipher) < 0 || get_str(&r, &kdf) < 0 || get_str(&r, &kdfopt) < 0 ||
	    get_u32(&r, &nkeys) < 0)
		return -1;
	if (nkeys != 1) {
		*why = "a private key file with more than one key";
		return -1;
	}
	if (get_str(&r, &k->pub) < 0 || get_str(&r, &sec) < 0)
		return -1;
	if (!str_is(&cipher, "none"))
		return 1;
	if (get_u32(&sec, &c1) < 0 || get_u32(&sec, &c2) < 0 || get_str(&sec, &type) < 0)
		return -1;
	if (c1 != c2) {
		*why = "a corrupt private key (its check numbers differ)";
		return -1;
	}
	if (!(k->kt = ktype_find((const char *)type.p, type.n)))
		return 1;
	*why = "a corrupt private key";
	if (k->kt->kind == K_ED25519) {
		if (get_str(&sec, &a) < 0 || get_str(&sec, &c) < 0)
			return -1;
		k->pk = ed25519_private(&a, &c);
	} else if (k->kt->kind == K_ECDSA) {
		BIGNUM *d;

		if (get_str(&sec, &c) < 0 || !str_is(&c, k->kt->curve) || get_str(&sec, &a) < 0 ||
		    !(d = get_bn(&sec, 1)))
			return -1;
		k->pk = ec_key(k->kt, &a, d);
		BN_clear_free(d);
	} else
		k->pk = rsa_private(&sec);
	ERR_clear_error();
	return k->pk && get_str(&sec, &c) == 0 ? 0 : -1;
}

/* the SSH signature blob of data by k; -1 when OpenSSL fails */
static int
sig_make(const privkey *k, const wb *data, wb *out)
{
	const struct ktype *kt = k->kt;
	const EVP_MD *md = kt->kind == K_ECDSA ? kt->md() : kt->kind == K_RSA ? EVP_sha512() : NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char *raw = NULL;
	size_t rn = 0;
	int ok = 0;

	if (c && EVP_DigestSignInit(c, NULL, md, NULL, k->pk) == 1 &&
	    EVP_DigestSign(c, NULL, &rn, data->p, data->n) == 1) {
		raw = xmalloc(rn);
		ok = EVP_DigestSign(c, raw, &rn, data->p, data->n) == 1;
	}
	EVP_MD_CTX_free(c);
	if (ok && kt->kind == K_ECDSA) {
		const unsigned char *p = raw;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)rn);
		wb inner = {0};

		if ((ok = es != NULL)) {
			put_mpint(&inner, ECDSA_SIG_get0_r(es));
			put_mpint(&inner, ECDSA_SIG_get0_s(es));
			put_cstr(out, kt->name);
			put_str(out, inner.p, inner.n);
		}
		ECDSA_SIG_free(es);
		free(inner.p);
	} else if (ok) {
		put_cstr(out, kt->kind == K_RSA ? "rsa-sha2-512" : kt->name);
		put_str(out, raw, rn);
	}
	free(raw);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* "KEYTYPE BASE64" of a public key blob */
static char *
pubkey_line(const rd *blob)
{
	rd r = *blob, type;
	char *t, *b, *line;

	if (get_str(&r, &type) < 0)
		return NULL;
	t = shown(&type);
	b = b64_encode(blob->p, blob->n);
	line = xasprintf("%s %s", t, b);
	free(t);
	free(b);
	return line;
}

static char *
native_sign(const privkey *k, const char *ns, const void *msg, size_t msglen, size_t *siglen,
    char **err)
{
	wb data = {0}, sigblob = {0}, all = {0};
	char *sig = NULL;
	EVP_PKEY *pub;
	const struct ktype *kt;
	const char *why;

	signed_data(&data, ns, "sha512", EVP_sha512(), msg, msglen);
	if (sig_make(k, &data, &sigblob) < 0) {
		*err = xstrdup("signing failed (OpenSSL)");
		goto out;
	}
	/* the signature must verify with the public key the file names, or it is not that key */
	if (!(pub = blob_key(k->pub.p, k->pub.n, &kt, &why)) || kt != k->kt ||
	    sig_check(kt, pub, &(rd){sigblob.p, sigblob.n}, &data, &why) < 0) {
		EVP_PKEY_free(pub);
		*err = xstrdup("a corrupt private key (its public key is not its own)");
		goto out;
	}
	EVP_PKEY_free(pub);
	put(&all, SIG_MAGIC, strlen(SIG_MAGIC));
	put_u32(&all, 1);
	put_str(&all, k->pub.p, k->pub.n);
	put_cstr(&all, ns);
	put_str(&all, "", 0);
	put_cstr(&all, "sha512");
	put_str(&all, sigblob.p, sigblob.n);
	sig = armor(all.p, all.n, siglen);
out:
	free(data.p);
	free(sigblob.p);
	free(all.p);
	return sig;
}

extern char **environ;

/*
 * `ssh-keygen -Y sign -f keypath -n ns` over msg in a private temporary directory: for the
 * keys we do not sign with ourselves. It asks for a passphrase on our terminal (/dev/tty) or
 * through SSH_ASKPASS; what it says goes to a spool file, shown only when it fails.
 */
static char *
keygen_sign(const char *keypath, const char *ns, const void *msg, size_t msglen,
    size_t *siglen, char **err)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/mallcop-sign.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *file = NULL, *sigfile = NULL, *sig = NULL;
	char *argv[] = {"ssh-keygen", "-q", "-Y", "sign", "-f", (char *)keypath, "-n", (char *)ns,
		NULL, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int errfd = -1, status = 0, r;

	if (!mkdtemp(dir)) {
		*err = xasprintf("cannot make a temporary directory '%s': %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	file = xasprintf("%s/message", dir);
	sigfile = xasprintf("%s.sig", file);
	argv[8] = file;
	if (store_replace(file, msg, msglen, err) < 0)
		goto out;
	errfd = proc_spool(dir);
	posix_spawn_file_actions_init(&fa);
	/* a passphrase is read from the terminal: never from a pipe or file we were given */
	if (!isatty(0))
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, errfd, 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	fflush(NULL);
	r = posix_spawnp(&pid, "ssh-keygen", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		*err = r == ENOENT ? xasprintf("cannot sign with '%s' without ssh-keygen: install "
		    "OpenSSH (openssh-client)", keypath) :
		    xasprintf("cannot run ssh-keygen: %s", strerror(r));
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && (sig = store_slurp(sigfile, siglen)))
		goto out;
	{
		char *cursor, *tail;

		proc_err_tail(errfd, &cursor, &tail);
		*err = xasprintf("ssh-keygen -Y sign -f '%s' failed: %s", keypath,
		    tail ? tail : "it gave no reason");
		free(cursor);
		free(tail);
	}
out:
	if (errfd >= 0)
		close(errfd);
	unlink(sigfile);
	unlink(file);
	rmdir(dir);
	free(sigfile);
	free(file);
	free(dir);
	return sig;
}

/* the key line of a signature we (or ssh-keygen) made */
static char *
signer_of(const char *sig, size_t siglen, const char *ns, char **err)
{
	unsigned char *bin;
	size_t n;
	const char *why;
	sigparts p;
	char *line = NULL;

	if (dearmor(sig, siglen, &bin, &n, &why) < 0) {
		*err = xasprintf("ssh-keygen wrote no signature: %s", why);
		return NULL;
	}
	if (sig_parse(bin, n, &p, err) == 0) {
		if (!str_is(&p.ns, ns))
			*err = xstrdup("ssh-keygen wrote a signature for another namespace");
		else if (!(line = pubkey_line(&p.key)))
			*err = xstrdup("truncated signature");
	}
	free(bin);
	return line;
}

char *
sshsig_sign(const char *keypath, const char *ns, const void *msg, size_t msglen,
    size_t *siglen, char **pubkey, char **err)
{
	size_t len;
	char *text = store_slurp(keypath, &len), *s, *sig = NULL, *signer = NULL;
	const char *why;
	privkey k;
	int r;

	*err = NULL;
	if (pubkey)
		*pubkey = NULL;
	if (!text) {
		*err = xasprintf("cannot read '%s': %s", keypath, strerror(errno));
		return NULL;
	}
	s = text + strspn(text, " \t\r\n");
	if (!strncmp(s, KEY_BEGIN, strlen(KEY_BEGIN))) {
		r = privkey_read(s, len - (size_t)(s - text), &k, &why);
		if (r == 0) {
			sig = native_sign(&k, ns, msg, msglen, siglen, err);
			if (sig)
				signer = pubkey_line(&k.pub);
		} else if (r < 0)
			*err = xasprintf("'%s': %s", keypath, why);
		privkey_free(&k);
	} else
		r = 1;
	/* another private key format ssh-keygen reads (PEM), or a .pub whose key is in ssh-agent */
	if (r == 1 && strncmp(s, "-----BEGIN ", 11) && !ktype_find(s, strcspn(s, " \t\r\n")) &&
	    strncmp(s, "sk-", 3)) {
		*err = xasprintf("'%s' is not an SSH key: give an OpenSSH private key file, or the "
		    ".pub file of a key in ssh-agent", keypath);
		r = -1;
	}
	OPENSSL_cleanse(text, len);
	free(text);
	if (r == 1 && (sig = keygen_sign(keypath, ns, msg, msglen, siglen, err)) &&
	    !(signer = signer_of(sig, *siglen, ns, err))) {
		free(sig);
		sig = NULL;
	}
	if (sig && pubkey)
		*pubkey = signer;
	else
		free(signer);
	return sig;
}
