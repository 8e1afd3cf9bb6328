/* sshsig: SSHSIG verify against fixed vectors (ssh-keygen's), public keys, fingerprints, and
 * signing; with arguments it is the tool tests/sshsig.bats drives:
 *   test_sshsig sign KEY NS < MSG > SIG      test_sshsig verify SIG NS PUBFILE < MSG
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "sshsig.h"
#include "store.h"
#include "t.h"
#include "util.h"

/* PROTOCOL.sshsig vectors made for the earlier implementation (reference Appendix A.2) */
static const char VPUB[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl vector@example.com";
static const char VFP[] = "SHA256:Hk1IrPwk/ipgf4ejmMx8e2bx3gA28sYAXstmq6rusXQ";
static const char VSKILL[] = "--- SKILL.md ---\n---\nname: vec-skill\ndescription: test vector\n"
	"author: vector@example.com\n---\nBody line.\n--- sub/a.txt ---\nx\n--- tools.py ---\n";
static const char VSKILLSIG[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgNDvw42Oy/3MOBD3SeMw+RocNN6\n"
	"G+moX/in5hLaTkMaUAAAANbWFsbGNvcC1za2lsbAAAAAAAAAAGc2hhNTEyAAAAUwAAAAtz\n"
	"c2gtZWQyNTUxOQAAAEByWnv2FvBAq9TBbjvQEJn5wY9qIuCZ40n/2M4ie72Vd87eCijqyX\n"
	"oKxFLN4mUQ3YuHAEtXifKQhJceOvpIa30P\n"
	"-----END SSH SIGNATURE-----\n";
static const char VENDORSE[] = "endorsements:\n"
	"- expires: '2099-01-01T00:00:00+00:00'\n"
	"  identity: bob@example.com\n"
	"  reason: test vector\n"
	"  scope: aws-*\n"
	"  trust_level: full\n"
	"endorser: vector@example.com\n"
	"signed_at: '2026-01-01T00:00:00+00:00'\n";
static const char VENDORSESIG[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgNDvw42Oy/3MOBD3SeMw+RocNN6\n"
	"G+moX/in5hLaTkMaUAAAATbWFsbGNvcC1lbmRvcnNlbWVudAAAAAAAAAAGc2hhNTEyAAAA\n"
	"UwAAAAtzc2gtZWQyNTUxOQAAAEBMHbdvEmA/KUyiFOVwLNB/VGZfzeqQlZDacwdvNIfeDf\n"
	"Wc7/LYOmFyUjUNbdXJGr1kjWGptkG/eCZloGOUtGIE\n"
	"-----END SSH SIGNATURE-----\n";

/* made with ssh-keygen 9.2 (-Y sign -n test, sha512 unless -O hashalg=sha256) over KMSG */
static const char KMSG[] = "hello, world\n";
static const struct { const char *pub, *sig; } kvec[] = {
	{"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7FXyRtb8uIBg4OfywSRz4TwrpzX12UnPjLj7SZCV1UtkeusrbueUAFz5Y2OkTW07FWJwDlmqAGSEnU2ZVLe5o= ecdsab256@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE\n"
	"EEnsVfJG1vy4gGDg5/LBJHPhPCunNfXZSc+MuPtJkJXVS2R66ytu55QAXPljY6RNbTsVYn\n"
	"AOWaoAZISdTZlUt7mgAAAAR0ZXN0AAAAAAAAAAZzaGE1MTIAAABjAAAAE2VjZHNhLXNoYT\n"
	"ItbmlzdHAyNTYAAABIAAAAICqFJACNcCyzxxxIMYOdDm33zCDxYoRRKht+25w6df4PAAAA\n"
	"ICuTc7SNIWHAQXck8PipGMkfoxc2wwLnfw4FlqWnWQYQ\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7FXyRtb8uIBg4OfywSRz4TwrpzX12UnPjLj7SZCV1UtkeusrbueUAFz5Y2OkTW07FWJwDlmqAGSEnU2ZVLe5o= ecdsab256@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE\n"
	"EEnsVfJG1vy4gGDg5/LBJHPhPCunNfXZSc+MuPtJkJXVS2R66ytu55QAXPljY6RNbTsVYn\n"
	"AOWaoAZISdTZlUt7mgAAAAR0ZXN0AAAAAAAAAAZzaGEyNTYAAABjAAAAE2VjZHNhLXNoYT\n"
	"ItbmlzdHAyNTYAAABIAAAAIBAichW9hh80jfvGm6ilrkfJymfgPPy1ZnvKK50NWOJHAAAA\n"
	"IAnRspS8g55D6H5RfxS45svKbVrnjkO18thVem4mUFGw\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBE5oY7YHgDWy46/0R6o2ncNAMMamSqGpTMI0aBhLeibTPdMxv2sAwRf6mza7ryasBikuN3+fXvd5pOitFggaJ5fBFRn3vzQ0OMQpneh12lhEYTAJARHonxO0NzC+zh/JKQ== ecdsab384@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAIgAAAATZWNkc2Etc2hhMi1uaXN0cDM4NAAAAAhuaXN0cDM4NAAAAG\n"
	"EETmhjtgeANbLjr/RHqjadw0AwxqZKoalMwjRoGEt6JtM90zG/awDBF/qbNruvJqwGKS43\n"
	"f59e93mk6K0WCBonl8EVGfe/NDQ4xCmd6HXaWERhMAkBEeifE7Q3ML7OH8kpAAAABHRlc3\n"
	"QAAAAAAAAABnNoYTUxMgAAAIQAAAATZWNkc2Etc2hhMi1uaXN0cDM4NAAAAGkAAAAxAKdZ\n"
	"BAjYg2Dn0JDvM4JopGCiOz7dMjVaCN9giXicK8DarJ5SWPyGUUzA8Xui5wZj1gAAADBuZ5\n"
	"t+aRMX/YzghAJTf2gYS/UdwJe3ry1f9Cy3hun1FQkIechN3OO1wgZAF9xuLvY=\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAH6rEy0Lk5lIVeeywVgZxfjIVLRUVna4XyufQSDlKp7xv61TwbmwMHuMv8OMQ1v1TctR9dwHD+mZe1K+3eDmRr1RgD6h6hHb2i5EHTMEw9aHdkckPocVokLN4lWqb87A6X9t2YiI5QvzTZm+8aoMqnbiqLJHrrhiJAxsRV+pXjKjnBnGw== ecdsab521@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAKwAAAATZWNkc2Etc2hhMi1uaXN0cDUyMQAAAAhuaXN0cDUyMQAAAI\n"
	"UEAfqsTLQuTmUhV57LBWBnF+MhUtFRWdrhfK59BIOUqnvG/rVPBubAwe4y/w4xDW/VNy1H\n"
	"13AcP6Zl7Ur7d4OZGvVGAPqHqEdvaLkQdMwTD1od2RyQ+hxWiQs3iVapvzsDpf23ZiIjlC\n"
	"/NNmb7xqgyqduKoskeuuGIkDGxFX6leMqOcGcbAAAABHRlc3QAAAAAAAAABnNoYTUxMgAA\n"
	"AKcAAAATZWNkc2Etc2hhMi1uaXN0cDUyMQAAAIwAAABCAUbE3+DIMOu3pI4DrH7PbvHylE\n"
	"4FUopFJOZCb3jhmOuckDodGCBSQiogRfIppITbstaOr4Gh2O+LIWm2WTKYwDMcAAAAQgCO\n"
	"6P4nTxBQwwwnbl+JctDeKlo1FJdOiExH/UkPVFQEfS2pYnwAh1dstH2Q8Zb8TkBUnXtsh/\n"
	"3orO5QCOhH1zhQoA==\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDVfDTFWWdS9BM/Gxmx/YDPlmiB60ZgiMMKZDHQi/6fVf7mGv/CGZCpLBJ5J2WN6BHTsgXRVG6KTFHyKhANenP/r7mhJ7/IlIQHK3vke7/RQIh29uX43HnlbgKDcRUpyVLrwzKXCBtqB6nOheDZ34hTVA37WxiI70m2uTPmUo6gzsNeYdSn0DXyWdQZ+5laOQ3jdDOtjBM2NXiravxNkBaUUgAdtIHx1+q3W8dgGWs7kuG6Tn7xEbvunzOmGGcYVqwNMETPeNndRKIKD7dumWiytsQPtHQYHrJ9RSl6eZ6JZiJEGax9S99qeoPo+zKtA882DkHHQupo7sKvbNdErYdH rsab2048@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAARcAAAAHc3NoLXJzYQAAAAMBAAEAAAEBANV8NMVZZ1L0Ez8bGbH9gM\n"
	"+WaIHrRmCIwwpkMdCL/p9V/uYa/8IZkKksEnknZY3oEdOyBdFUbopMUfIqEA16c/+vuaEn\n"
	"v8iUhAcre+R7v9FAiHb25fjceeVuAoNxFSnJUuvDMpcIG2oHqc6F4NnfiFNUDftbGIjvSb\n"
	"a5M+ZSjqDOw15h1KfQNfJZ1Bn7mVo5DeN0M62MEzY1eKtq/E2QFpRSAB20gfHX6rdbx2AZ\n"
	"azuS4bpOfvERu+6fM6YYZxhWrA0wRM942d1EogoPt26ZaLK2xA+0dBgesn1FKXp5nolmIk\n"
	"QZrH1L32p6g+j7Mq0DzzYOQcdC6mjuwq9s10Sth0cAAAAEdGVzdAAAAAAAAAAGc2hhNTEy\n"
	"AAABFAAAAAxyc2Etc2hhMi01MTIAAAEASjrJQyrSVghxFLjhAEOCsn6B0bUwsRSQ1VDD2Y\n"
	"99wG0QAYHBcsZlpu/5sydvgLItbwc6tntMD0Gm3FRV+Bz9PvxDQhOdhz1dj2SrwnzhfrDh\n"
	"+f2MixECerBh1pPTy5GGs3TGpfj8WrAkYGPl60A+iQZ/Rix52L5tgEjVLFORQNekD1QK6B\n"
	"gGJWWhM0WwNYR4ltZtm6C3Ugz3tJKwmSEuD53hm97RsV7Qn47Z+ipi2jiz//f7gIGiHCvv\n"
	"hUTX9rsT9gEqbbJFu1hjHXyBTobWl1rpch+x1z9vHyVNgv6sm7JLnApyI6PHGpi+SnlkDY\n"
	"RwPUu+9OuzW6+upgeXzRvVpQ==\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDVfDTFWWdS9BM/Gxmx/YDPlmiB60ZgiMMKZDHQi/6fVf7mGv/CGZCpLBJ5J2WN6BHTsgXRVG6KTFHyKhANenP/r7mhJ7/IlIQHK3vke7/RQIh29uX43HnlbgKDcRUpyVLrwzKXCBtqB6nOheDZ34hTVA37WxiI70m2uTPmUo6gzsNeYdSn0DXyWdQZ+5laOQ3jdDOtjBM2NXiravxNkBaUUgAdtIHx1+q3W8dgGWs7kuG6Tn7xEbvunzOmGGcYVqwNMETPeNndRKIKD7dumWiytsQPtHQYHrJ9RSl6eZ6JZiJEGax9S99qeoPo+zKtA882DkHHQupo7sKvbNdErYdH rsab2048@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAARcAAAAHc3NoLXJzYQAAAAMBAAEAAAEBANV8NMVZZ1L0Ez8bGbH9gM\n"
	"+WaIHrRmCIwwpkMdCL/p9V/uYa/8IZkKksEnknZY3oEdOyBdFUbopMUfIqEA16c/+vuaEn\n"
	"v8iUhAcre+R7v9FAiHb25fjceeVuAoNxFSnJUuvDMpcIG2oHqc6F4NnfiFNUDftbGIjvSb\n"
	"a5M+ZSjqDOw15h1KfQNfJZ1Bn7mVo5DeN0M62MEzY1eKtq/E2QFpRSAB20gfHX6rdbx2AZ\n"
	"azuS4bpOfvERu+6fM6YYZxhWrA0wRM942d1EogoPt26ZaLK2xA+0dBgesn1FKXp5nolmIk\n"
	"QZrH1L32p6g+j7Mq0DzzYOQcdC6mjuwq9s10Sth0cAAAAEdGVzdAAAAAAAAAAGc2hhMjU2\n"
	"AAABFAAAAAxyc2Etc2hhMi01MTIAAAEADyPqvQ52mR48jLP/61qFIf7htBEevMRQBfboc0\n"
	"b2xGn04BJzzw27BLqdE8run5z04f6IQR2YbPUOM8xc/Aju1unFm5KjILRidXrzwnRsSg+v\n"
	"efJeBOJSdQuFQS9ApbIpDYz/dEUr86M1qeoujuLOCrfRO2TCgeYnl73l6oqU4xad0CsvEG\n"
	"/+UXyNM9aW5mwjcnG/VcSum0bXFeQHbhLl1HD6PHhXnJz2SZITHLkQlTGZ6M1/QNW8Xj8k\n"
	"DhMHU2pXdMaT0ax3r1URIaeGuhDjOQbBWjVZi7nzSGa4IF4fzoxb05XTuJBKDv7mF/qwaf\n"
	"u9gcTsnn99GqlgvDrc8gv6yg==\n"
	"-----END SSH SIGNATURE-----\n"},
	{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAYUvJram5RynqQyCbDjjzU3QKgUXpEy79ebUnGj+9pG ed25519@example.com",
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgBhS8mtqblHKepDIJsOOPNTdAqB\n"
	"RekTLv15tScaP72kYAAAAEdGVzdAAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUx\n"
	"OQAAAEBcCfvBaPpZOrtbgoYf7o2kRi1VcTFQd3vsrgw1eVRnEv4UgFPfuO7vevFUL5o/v4\n"
	"y1dI1WGMt4aJR4Eu6YRVQM\n"
	"-----END SSH SIGNATURE-----\n"},
};

/* the private halves of kvec's ed25519, P-256 and RSA keys (throwaway test keys) */
static const char KED25519[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
	"QyNTUxOQAAACAGFLya2puUcp6kMgmw4481N0CoFF6RMu/Xm1Jxo/vaRgAAAJgVBcCdFQXA\n"
	"nQAAAAtzc2gtZWQyNTUxOQAAACAGFLya2puUcp6kMgmw4481N0CoFF6RMu/Xm1Jxo/vaRg\n"
	"AAAEA1GdDs1qnptgpiylXyGSuACjlybqk+sbVdV0NXefsGgAYUvJram5RynqQyCbDjjzU3\n"
	"QKgUXpEy79ebUnGj+9pGAAAAE2VkMjU1MTlAZXhhbXBsZS5jb20BAg==\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char KP256[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS\n"
	"1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQSexV8kbW/LiAYODn8sEkc+E8K6c19d\n"
	"lJz4y4+0mQldVLZHrrK27nlABc+WNjpE1tOxVicA5ZqgBkhJ1NmVS3uaAAAAsBG8X2gRvF\n"
	"9oAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7FXyRtb8uIBg4O\n"
	"fywSRz4TwrpzX12UnPjLj7SZCV1UtkeusrbueUAFz5Y2OkTW07FWJwDlmqAGSEnU2ZVLe5\n"
	"oAAAAgXPYO4zbrueo076t4DsBF0k/wlylXeIEYb9yIDY1BqmIAAAAVZWNkc2FiMjU2QGV4\n"
	"YW1wbGUuY29tAQID\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char KRSA[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABFwAAAAdzc2gtcn\n"
	"NhAAAAAwEAAQAAAQEA1Xw0xVlnUvQTPxsZsf2Az5ZogetGYIjDCmQx0Iv+n1X+5hr/whmQ\n"
	"qSwSeSdljegR07IF0VRuikxR8ioQDXpz/6+5oSe/yJSEByt75Hu/0UCIdvbl+Nx55W4Cg3\n"
	"EVKclS68MylwgbagepzoXg2d+IU1QN+1sYiO9Jtrkz5lKOoM7DXmHUp9A18lnUGfuZWjkN\n"
	"43QzrYwTNjV4q2r8TZAWlFIAHbSB8dfqt1vHYBlrO5Lhuk5+8RG77p8zphhnGFasDTBEz3\n"
	"jZ3USiCg+3bplosrbED7R0GB6yfUUpenmeiWYiRBmsfUvfanqD6PsyrQPPNg5Bx0LqaO7C\n"
	"r2zXRK2HRwAAA9Ar2UakK9lGpAAAAAdzc2gtcnNhAAABAQDVfDTFWWdS9BM/Gxmx/YDPlm\n"
	"iB60ZgiMMKZDHQi/6fVf7mGv/CGZCpLBJ5J2WN6BHTsgXRVG6KTFHyKhANenP/r7mhJ7/I\n"
	"lIQHK3vke7/RQIh29uX43HnlbgKDcRUpyVLrwzKXCBtqB6nOheDZ34hTVA37WxiI70m2uT\n"
	"PmUo6gzsNeYdSn0DXyWdQZ+5laOQ3jdDOtjBM2NXiravxNkBaUUgAdtIHx1+q3W8dgGWs7\n"
	"kuG6Tn7xEbvunzOmGGcYVqwNMETPeNndRKIKD7dumWiytsQPtHQYHrJ9RSl6eZ6JZiJEGa\n"
	"x9S99qeoPo+zKtA882DkHHQupo7sKvbNdErYdHAAAAAwEAAQAAAQAIAyZeixweopHKWjOy\n"
	"WMep2C+fQ1DxNJDQELHx7XR7+cKcU5e/wC02vDRhSaznu4sCZ/m3QTT43yPAM/tFljqeS7\n"
	"PALE69XMhBFfe2ET2Xa+rzPrxOL8V/aovmRQCSAJVVII6t2Rxg9AgCe/HUG4NGpVlKUsFD\n"
	"+mnI1YCbfK5lCJas1aTlO236noSaytXWAQBevUpfJy4/nuMZnbNoWMPind0dPXpY2Rp0qs\n"
	"/Shp6jdpcK+hzfKflhuOKB9XR9mOhf+Lqu7yuVxAtNCInmuw7ZOfqyL+1PluvRZt1N+kR/\n"
	"aOZ+ib9+WZJisfaZn9zXG5g85fePXDbvAQ5zM/Y0RNUBAAAAgQDrXQpz5af+dtx4FTWmHc\n"
	"Kb4Jtq8khhrE2BIbyswau94igyeQz4i8ydGMgM0ht1OudOjm4PF4nzh5e6NMngAlasiX6L\n"
	"XXlaJF49/+oPa153xsW57jDhB4S/eNSwWTmfQ+pM6VUucoZZp5DbOq3QTs9Y87kgpE7+zP\n"
	"eHMMA4RLb5lQAAAIEA76Scj4PeuomsW3FPC65ls4dMBRDd6EeVJOlmBj+AASBMITMQlcvo\n"
	"JnuqD4CEDT6VSxruvfVzUx0znbJM8VM4AMOfCjYl4mkXzNSF+Eq21fpU/ZcEHV1Bc+qibs\n"
	"/hYoN/uRvvVdm7sIDrDNhXpXUk16Z5rCCl0kGl4wyIrBGAdscAAACBAOQOhvRsLNHkwfOd\n"
	"Cm/RNPmX5iZPFXn7y6c2MUL/yTdppCI+tZboe6boICFFOQgmJb60EdB2PXR4yVZOjj/Z/4\n"
	"1k/6h43du0viezfZOAwzg+8IKy1sL0A6RUHf1LIRVxefhkv7kxEcEvZVoI/jDeUVBkpM7T\n"
	"W0BFQq+GVKutz+uBAAAAFHJzYWIyMDQ4QGV4YW1wbGUuY29tAQIDBAUG\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

/* the binary inside an armored signature (whose body is one base64 run once joined) */
static unsigned char *
unarmor(const char *sig, size_t *n)
{
	const char *b = strchr(sig, '\n') + 1, *e = strstr(b, "-----END");
	char *t = calloc(1, (size_t)(e - b) + 1);
	unsigned char *out = malloc((size_t)(e - b));
	size_t m = 0;
	int r;

	for (const char *p = b; p < e; p++)
		if (*p != '\n')
			t[m++] = *p;
	r = EVP_DecodeBlock(out, (unsigned char *)t, (int)m);
	*n = (size_t)r - (m && t[m - 1] == '=') - (m > 1 && t[m - 2] == '=');
	free(t);
	return out;
}

/* ssh-keygen's armor of a binary: base64 at 70 columns */
static char *
armor(const unsigned char *b, size_t n)
{
	char *t = malloc((n + 2) / 3 * 4 + 1), *out;
	size_t m, o = 0;

	m = (size_t)EVP_EncodeBlock((unsigned char *)t, b, (int)n);
	out = malloc(m + m / 70 + 100);
	o += (size_t)sprintf(out, "-----BEGIN SSH SIGNATURE-----\n");
	for (size_t i = 0; i < m; i += 70) {
		size_t l = m - i < 70 ? m - i : 70;

		memcpy(out + o, t + i, l);
		o += l;
		out[o++] = '\n';
	}
	strcpy(out + o, "-----END SSH SIGNATURE-----\n");
	free(t);
	return out;
}

/* sshsig_verify's message for sig over msg, or "ok" */
static char *
verdict(const char *sig, size_t siglen, const char *msg, const char *ns, const char *pub)
{
	char *err = NULL;

	if (sshsig_verify(sig, siglen, msg, strlen(msg), ns, pub, &err) == 0)
		return (free(err), xstrdup("ok"));
	return err ? err : xstrdup("(no reason)");
}

#define VERDICT(want, sig, siglen, msg, ns, pub, ...) do { \
	char *v_ = verdict(sig, siglen, msg, ns, pub); \
	is_str(v_, want, __VA_ARGS__); \
	free(v_); \
} while (0)

static void
vectors(void)
{
	size_t n = strlen(VSKILLSIG);

	VERDICT("ok", VSKILLSIG, n, VSKILL, "mallcop-skill", VPUB, "the vec-skill blob's signature");
	VERDICT("ok", VENDORSESIG, strlen(VENDORSESIG), VENDORSE, "mallcop-endorsement", VPUB,
	    "the endorsement's signature");
	VERDICT("signature is for namespace 'mallcop-skill', not 'mallcop-endorsement'", VSKILLSIG,
	    n, VSKILL, "mallcop-endorsement", VPUB, "another namespace is refused");
	VERDICT("signature is for namespace 'mallcop-endorsement', not 'mallcop-skill'",
	    VENDORSESIG, strlen(VENDORSESIG), VENDORSE, "mallcop-skill", VPUB,
	    "an endorsement signature is no skill signature");
	VERDICT("bad signature", VSKILLSIG, n, VENDORSE, "mallcop-skill", VPUB,
	    "a signature over another message");
	VERDICT("signed by another key (SHA256:Hk1IrPwk/ipgf4ejmMx8e2bx3gA28sYAXstmq6rusXQ)",
	    VSKILLSIG, n, VSKILL, "mallcop-skill", kvec[6].pub, "another key is refused");
	/* the terminating newline is not needed, and a CRLF file is the same signature */
	VERDICT("ok", VSKILLSIG, n - 1, VSKILL, "mallcop-skill", VPUB, "no final newline");
	{
		char crlf[1024], *o = crlf;

		for (const char *p = VSKILLSIG; *p; p++) {
			if (*p == '\n')
				*o++ = '\r';
			*o++ = *p;
		}
		VERDICT("ok", crlf, (size_t)(o - crlf), VSKILL, "mallcop-skill", VPUB, "CRLF lines");
	}
}

static void
one_byte_changes(void)
{
	char msg[sizeof VSKILL];
	size_t n, bad = 0, passed = 0;
	unsigned char *bin = unarmor(VSKILLSIG, &n);

	for (size_t i = 0; i < sizeof VSKILL - 1; i++) {
		char *err = NULL;

		memcpy(msg, VSKILL, sizeof VSKILL);
		msg[i] ^= 1;
		if (sshsig_verify(VSKILLSIG, strlen(VSKILLSIG), msg, sizeof VSKILL - 1,
		    "mallcop-skill", VPUB, &err) == 0 || !err || strcmp(err, "bad signature"))
			bad++;
		free(err);
	}
	ok(bad == 0, "every one-bit change of the message: bad signature (%zu not)", bad);
	bad = 0;
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			char *s, *err = NULL;

			bin[i] ^= 1 << bit;
			s = armor(bin, n);
			if (sshsig_verify(s, strlen(s), VSKILL, sizeof VSKILL - 1, "mallcop-skill",
			    VPUB, &err) == 0)
				passed++;
			else if (!err || !*err)
				bad++;
			free(err);
			free(s);
			bin[i] ^= 1 << bit;
		}
	}
	ok(passed == 0 && bad == 0, "every one-bit change of the signature is refused with a reason "
	    "(%zu verified, %zu without reason)", passed, bad);
	/* the last byte is inside the Ed25519 signature itself */
	bin[n - 1] ^= 0x80;
	{
		char *s = armor(bin, n);

		VERDICT("bad signature", s, strlen(s), VSKILL, "mallcop-skill", VPUB,
		    "a changed signature byte: bad signature");
		free(s);
	}
	free(bin);
}

static void
truncations(void)
{
	size_t n, wrong = 0;
	unsigned char *bin = unarmor(VSKILLSIG, &n);
	size_t sl = strlen(VSKILLSIG);

	ok(n == 183, "the vector's binary is 183 bytes (%zu)", n);
	for (size_t l = 1; l < n; l++) {
		char *s = armor(bin, l), *err = NULL;

		if (sshsig_verify(s, strlen(s), VSKILL, sizeof VSKILL - 1, "mallcop-skill", VPUB,
		    &err) == 0 || !err || strcmp(err, "truncated signature"))
			wrong++, printf("# at %zu: %s\n", l, err ? err : "(verified)");
		free(err);
		free(s);
	}
	ok(wrong == 0, "the binary cut at every length: truncated signature");
	wrong = 0;
	for (size_t l = 0; l < sl - 1; l++) {
		char *err = NULL;

		if (sshsig_verify(VSKILLSIG, l, VSKILL, sizeof VSKILL - 1, "mallcop-skill", VPUB,
		    &err) == 0 || !err || !*err)
			wrong++;
		free(err);
	}
	ok(wrong == 0, "the text cut at every length is refused with a reason");
	{
		/* a length field far past the end */
		unsigned char big[200];
		char *s;

		memcpy(big, bin, n);
		big[10] = 0xff;
		s = armor(big, n);
		VERDICT("truncated signature", s, strlen(s), VSKILL, "mallcop-skill", VPUB,
		    "a length past the end");
		free(s);
		memcpy(big, bin, n);
		big[n] = 0;
		s = armor(big, n + 1);
		VERDICT("not an SSH signature: data after its signature", s, strlen(s), VSKILL,
		    "mallcop-skill", VPUB, "a byte after the signature");
		free(s);
		memcpy(big, bin, n);
		big[9] = 2;
		s = armor(big, n);
		VERDICT("unsupported signature version 2", s, strlen(s), VSKILL, "mallcop-skill",
		    VPUB, "version 2");
		free(s);
	}
	free(bin);
	VERDICT("not an SSH signature: no -----BEGIN SSH SIGNATURE----- line", "garbage", 7, VSKILL,
	    "mallcop-skill", VPUB, "garbage");
	VERDICT("not an SSH signature: no -----BEGIN SSH SIGNATURE----- line", "", 0, VSKILL,
	    "mallcop-skill", VPUB, "empty");
	{
		static const char nb[] = "-----BEGIN SSH SIGNATURE-----\nU1N*SU\n-----END SSH SIGNATURE-----\n";

		VERDICT("not an SSH signature: its body is not base64", nb, strlen(nb), VSKILL,
		    "mallcop-skill", VPUB, "not base64");
	}
}

static void
pubkeys(void)
{
	char *type = NULL, *b64 = NULL, *comment = NULL, *err = NULL, *fp;

	ok(sshsig_pubkey_parse(VPUB, &type, &b64, &comment, &err) == 0, "the vector key parses");
	is_str(type, "ssh-ed25519", "its type");
	is_str(b64, "AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl", "its key");
	is_str(comment, "vector@example.com", "its comment");
	free(type), free(b64), free(comment);
	fp = sshsig_fingerprint(VPUB);
	is_str(fp, VFP, "its fingerprint is ssh-keygen -l's");
	free(fp);
	fp = sshsig_fingerprint("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl");
	is_str(fp, VFP, "without a comment too");
	free(fp);
	ok(sshsig_fingerprint("nonsense") == NULL, "no fingerprint of a non-key");
	comment = (char *)"x";
	ok(sshsig_pubkey_parse("  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl\n",
	    NULL, NULL, &comment, &err) == 0 && comment == NULL, "no comment: NULL");
	for (size_t i = 0; i < sizeof kvec / sizeof *kvec; i++) {
		ok(sshsig_pubkey_parse(kvec[i].pub, &type, NULL, NULL, &err) == 0,
		    "%.20s parses", kvec[i].pub);
		free(type);
	}

	static const struct {
		const char *line, *want;
	} bad[] = {
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAA\n",
		    "a private key where a public key is expected"},
		{"", "not an SSH public key: the line is empty"},
		{"hello world", "not an SSH public key: unsupported key type 'hello' (ssh-ed25519, "
		    "ecdsa-sha2-nistp256/384/521 or ssh-rsa)"},
		{"ssh-ed25519", "not an SSH public key: the key after its type is not base64"},
		{"ssh-ed25519 AAAA*AAA", "not an SSH public key: the key after its type is not base64"},
		{"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIDQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl",
		    "not an SSH public key: the key is not of its stated type 'ssh-rsa'"},
		{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAHzQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl",
		    "not an SSH public key: its fields are not a valid key of its type"},
		{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITQ78ONjsv9zDgQ90njMPkaHDTehvpqF/4p+YS2k5DGl",
		    "not an SSH public key: truncated key"},
		/* a P-256 key whose point is off the curve (its last byte changed) */
		{"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7FXyRtb8uIBg4OfywSRz4TwrpzX12UnPjLj7SZCV1UtkeusrbueUAFz5Y2OkTW07FWJwDlmqAGSEnU2ZVLe5s=",
		    "not an SSH public key: its fields are not a valid key of its type"},
		/* a P-256 key that says it is P-384 */
		{"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJ7FXyRtb8uIBg4OfywSRz4TwrpzX12UnPjLj7SZCV1UtkeusrbueUAFz5Y2OkTW07FWJwDlmqAGSEnU2ZVLe5o=",
		    "not an SSH public key: the key is not of its stated type 'ecdsa-sha2-nistp384'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err = NULL;
		type = (char *)"unset";
		ok(sshsig_pubkey_parse(bad[i].line, &type, NULL, NULL, &err) == -1,
		    "refused: '%.30s'", bad[i].line);
		is_str(err, bad[i].want, "why");
		free(err);
	}

	char path[] = "/tmp/test_sshsig.XXXXXX";
	int fd = mkstemp(path);

	dprintf(fd, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAA\n"
	    "-----END OPENSSH PRIVATE KEY-----\n");
	close(fd);
	err = NULL;
	ok(sshsig_pubkey_load(path, &type, NULL, NULL, &err) == -1 && err &&
	    strstr(err, "a private key where a public key is expected") && strstr(err, path),
	    "a private key file where the .pub is expected: %s", err ? err : "");
	free(err);
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "# a comment\n\n%s\n", VPUB);
	close(fd);
	ok(sshsig_pubkey_load(path, &type, &b64, &comment, &err) == 0 &&
	    streq(comment, "vector@example.com"), "a .pub file's first key line");
	free(type), free(b64), free(comment);
	unlink(path);
	err = NULL;
	ok(sshsig_pubkey_load(path, &type, NULL, NULL, &err) == -1 && err && strstr(err, path) &&
	    strstr(err, "No such file"), "a missing file: %s", err ? err : "");
	free(err);
}

static void
key_types(void)
{
	for (size_t i = 0; i < sizeof kvec / sizeof *kvec; i++) {
		size_t n = strlen(kvec[i].sig), bn;
		char msg[sizeof KMSG];
		unsigned char *bin;
		char *s;

		VERDICT("ok", kvec[i].sig, n, KMSG, "test", kvec[i].pub, "%.20s: ssh-keygen's "
		    "signature (%s)", kvec[i].pub, i == 1 || i == 5 ? "sha256" : "sha512");
		memcpy(msg, KMSG, sizeof KMSG);
		msg[3] ^= 4;
		VERDICT("bad signature", kvec[i].sig, n, msg, "test", kvec[i].pub,
		    "%.20s: another message", kvec[i].pub);
		VERDICT("signature is for namespace 'test', not 'other'", kvec[i].sig, n, KMSG,
		    "other", kvec[i].pub, "%.20s: another namespace", kvec[i].pub);
		bin = unarmor(kvec[i].sig, &bn);
		bin[bn - 2] ^= 1;
		s = armor(bin, bn);
		VERDICT("bad signature", s, strlen(s), KMSG, "test", kvec[i].pub,
		    "%.20s: a changed signature", kvec[i].pub);
		free(s);
		free(bin);
	}
}

/* SSH wire encoding, written here apart from lib/sshsig.c's */
static size_t
w_str(unsigned char *o, const void *b, size_t n)
{
	o[0] = (unsigned char)(n >> 24), o[1] = (unsigned char)(n >> 16);
	o[2] = (unsigned char)(n >> 8), o[3] = (unsigned char)n;
	memcpy(o + 4, b, n);
	return n + 4;
}

static size_t
w_bn(unsigned char *o, const BIGNUM *b)
{
	unsigned char t[1024] = {0};
	int n = BN_bn2bin(b, t + 1);

	return t[1] & 0x80 ? w_str(o, t, (size_t)n + 1) : w_str(o, t + 1, (size_t)n);
}

/*
 * A signature by a fresh RSA key made with OpenSSL alone, its signature type sigtype over
 * hash md: the legacy ssh-rsa (SHA-1) must be refused, rsa-sha2-256 (the control) accepted.
 */
static void
rsa_sigtype(EVP_PKEY *pk, const char *sigtype, const EVP_MD *md, const char *want)
{
	static unsigned char blob[2048], data[512], sigb[1024], all[4096];
	BIGNUM *n = NULL, *e = NULL;
	unsigned char h[64], raw[512];
	unsigned int hl;
	size_t bn = 0, dn = 0, sn = 0, an = 0, rl = sizeof raw;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	char *b64, *line, *arm;

	EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n);
	EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e);
	bn += w_str(blob, "ssh-rsa", 7);
	bn += w_bn(blob + bn, e);
	bn += w_bn(blob + bn, n);
	EVP_Digest(KMSG, strlen(KMSG), h, &hl, EVP_sha512(), NULL);
	memcpy(data, "SSHSIG", 6);
	dn = 6;
	dn += w_str(data + dn, "test", 4);
	dn += w_str(data + dn, "", 0);
	dn += w_str(data + dn, "sha512", 6);
	dn += w_str(data + dn, h, hl);
	EVP_DigestSignInit(c, NULL, md, NULL, pk);
	EVP_DigestSign(c, raw, &rl, data, dn);
	sn += w_str(sigb, sigtype, strlen(sigtype));
	sn += w_str(sigb + sn, raw, rl);
	memcpy(all, "SSHSIG\0\0\0\1", 10);
	an = 10;
	an += w_str(all + an, blob, bn);
	an += w_str(all + an, "test", 4);
	an += w_str(all + an, "", 0);
	an += w_str(all + an, "sha512", 6);
	an += w_str(all + an, sigb, sn);
	b64 = malloc(bn * 2 + 4);
	EVP_EncodeBlock((unsigned char *)b64, blob, (int)bn);
	line = xasprintf("ssh-rsa %s", b64);
	arm = armor(all, an);
	VERDICT(want, arm, strlen(arm), KMSG, "test", line, "a %s signature", sigtype);
	free(arm), free(line), free(b64);
	BN_free(n), BN_free(e);
	EVP_MD_CTX_free(c);
}

static void
rsa_legacy(void)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);

	rsa_sigtype(pk, "rsa-sha2-256", EVP_sha256(), "ok");
	rsa_sigtype(pk, "ssh-rsa", EVP_sha1(), "legacy ssh-rsa (SHA-1) signature refused");
	rsa_sigtype(pk, "rsa-sha2-512", EVP_sha256(), "bad signature");
	EVP_PKEY_free(pk);
}

static char keyfile[] = "/tmp/test_sshsig.key.XXXXXX";

static void
put_file(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "w");

	fwrite(b, 1, n, f);
	fclose(f);
}

/* sshsig_sign with the key text key: the signature, or NULL and *err */
static char *
sign_with(const char *key, size_t keylen, const char *msg, size_t *n, char **pub, char **err)
{
	put_file(keyfile, key, keylen);
	return sshsig_sign(keyfile, "test", msg, strlen(msg), n, pub, err);
}

static void
signing(void)
{
	size_t n;
	char *err = NULL, *pub = NULL, *sig;

	close(mkstemp(keyfile));
	sig = sign_with(KED25519, strlen(KED25519), KMSG, &n, &pub, &err);
	ok(sig && n == strlen(sig), "an ed25519 key signs natively");
	is_str(sig, kvec[6].sig, "byte for byte what ssh-keygen -Y sign wrote");
	is_str(pub, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAYUvJram5RynqQyCbDjjzU3QKgUXpEy79ebUnGj+9pG",
	    "the signer's key");
	free(sig), free(pub);
	sig = sign_with(KRSA, strlen(KRSA), KMSG, &n, NULL, &err);
	is_str(sig, kvec[4].sig, "an RSA key (rsa-sha2-512): byte for byte ssh-keygen's");
	free(sig);
	sig = sign_with(KP256, strlen(KP256), KMSG, &n, &pub, &err);
	ok(sig != NULL, "a P-256 key signs natively");
	VERDICT("ok", sig ? sig : "", sig ? n : 0, KMSG, "test", kvec[0].pub,
	    "its signature verifies (ECDSA is not deterministic)");
	ok(pub && !strncmp(pub, kvec[0].pub, strlen(pub)), "the signer's key");
	free(sig), free(pub);

	/* every cut of the key file's binary is refused with a reason, and none shows the key */
	{
		size_t bn, wrong = 0, leaked = 0;
		unsigned char *bin;
		char *t, *k, *kb, *s;

		t = xstrdup(KED25519);
		memcpy(t, "-----BEGIN SSH SIGNATURE-----", 29);
		s = strstr(t, "-----END");
		memcpy(s, "-----END SSH SIGNATURE-----\n", 29);
		bin = unarmor(t, &bn);
		free(t);
		for (size_t l = 0; l < bn; l++) {
			char *a = armor(bin, l);

			k = xasprintf("-----BEGIN OPENSSH PRIVATE KEY-----\n%s-----END OPENSSH "
			    "PRIVATE KEY-----\n", strchr(a, '\n') + 1);
			*strstr(k, "-----END SSH") = 0;
			kb = xasprintf("%s-----END OPENSSH PRIVATE KEY-----\n", k);
			err = NULL;
			if ((sig = sign_with(kb, strlen(kb), KMSG, &n, NULL, &err)) || !err)
				wrong++;
			else if (strstr(err, "AAAA") || strstr(err, "QyNTUxOQ"))
				leaked++;
			if (err && l == bn / 2)
				printf("# cut at %zu: %s\n", l, err);
			free(sig), free(err), free(a), free(k), free(kb);
		}
		ok(wrong == 0, "a private key cut at every length is refused with a reason");
		ok(leaked == 0, "no message shows key material");
		free(bin);
	}
	sig = sign_with("hello\n", 6, KMSG, &n, NULL, &err);
	ok(!sig && err && strstr(err, "is not an SSH key"), "a file that is no key: %s", err);
	free(err);
	unlink(keyfile);
	err = NULL;
	sig = sshsig_sign(keyfile, "test", "x", 1, &n, NULL, &err);
	ok(!sig && err && strstr(err, "No such file"), "a missing key file: %s", err);
	free(err);
}

/* the tool mode: sign KEY NS, verify SIG NS PUBFILE; the message on stdin */
static int
tool(int argc, char **argv)
{
	size_t n, sn;
	char *msg = store_slurp("/dev/stdin", &n), *err = NULL, *sig, *pub = NULL;
	int r = 1;

	if (argc == 4 && streq(argv[1], "sign")) {
		if ((sig = sshsig_sign(argv[2], argv[3], msg, n, &sn, &pub, &err))) {
			fwrite(sig, 1, sn, stdout);
			fprintf(stderr, "signer: %s\n", pub);
			free(sig);
			r = 0;
		}
	} else if (argc == 5 && streq(argv[1], "verify")) {
		char *pubkey;

		if (!(sig = store_slurp(argv[2], &sn)))
			err = xasprintf("cannot read '%s'", argv[2]);
		else if (sshsig_pubkey_load(argv[4], NULL, NULL, NULL, &err) == 0) {
			pubkey = store_slurp(argv[4], NULL);
			r = sshsig_verify(sig, sn, msg, n, argv[3], pubkey, &err) == 0 ? 0 : 1;
			free(pubkey);
		}
		free(sig);
	} else {
		fprintf(stderr, "usage: test_sshsig [sign KEY NS | verify SIG NS PUBFILE] < MSG\n");
		r = 2;
	}
	if (err)
		fprintf(stderr, "test_sshsig: %s\n", err);
	free(err);
	free(pub);
	free(msg);
	return r;
}

int
main(int argc, char **argv)
{
	if (argc > 1)
		return tool(argc, argv);
	vectors();
	one_byte_changes();
	truncations();
	pubkeys();
	key_types();
	rsa_legacy();
	signing();
	return t_done();
}
