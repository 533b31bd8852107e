/* SPDX-License-Identifier: GPL-2.0 */
/* EK and platform certificates (ek.c) issued by the host's CA (ca.c). */
#ifndef VTPMCTL_EK_H
#define VTPMCTL_EK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* TCG standard NV indices (TCG EK Credential Profile 2.x, 2.2.1.4) */
#define EK_CERT_RSA_NV		0x01c00002
#define EK_CERT_ECC_NV		0x01c0000a
#define PLATFORM_CERT_NV	0x01c08000

struct ca {
	X509 *cert;
	EVP_PKEY *key;
	bool created;		/* ca_open() made it just now */
};

const char *ca_dir(void);
/* Load the CA (its key decrypted with the host key); create: make one if
 * there is none. 0 or a negative errno, with a sentence in why. */
int ca_open(bool create, struct ca **ca, char *why, size_t wlen);
void ca_close(struct ca *ca);
int ca_set_serial(X509 *cert);
/* manager rotate: the CA key under the new host key as ca.key.next
 * (nothing if there is no CA), then renamed over ca.key */
int ca_rekey_prepare(const uint8_t old_key[32], const uint8_t new_key[32], char *why, size_t wlen);
int ca_rekey_commit(void);
int ca_add_ext(struct ca *ca, X509 *cert, int nid, const char *value);

/*
 * Give the new (closed) TPM 2.0 vTPM in opts->state_dir its EK
 * certificates (RSA 2048 and ECC P-256, the TCG default EK templates) and
 * a platform certificate, signed by ca, in the TCG NV indices.
 */
struct vtpm_opts;
int ek_provision(const struct vtpm_opts *opts, struct ca *ca, char *why, size_t wlen);

#endif /* VTPMCTL_EK_H */
