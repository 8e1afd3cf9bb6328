# mallcop: see README.md. `make check` runs every test, `make demo` the demo deployment.
VERSION != sed -n 's/^version=//p' mallcop
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/mallcop
DATADIR ?= $(PREFIX)/share/mallcop
MANDIR ?= $(PREFIX)/share/man
BUILD ?= .

CC ?= cc
CFLAGS ?= -O2 -g
MCFLAGS = -std=c11 -Wall -Wextra -Werror -Wformat=2 -Wno-format-nonliteral \
	-fstack-protector-strong -fstack-clash-protection -fPIE \
	-D_FORTIFY_SOURCE=2 -DMALLCOP_VERSION='"$(VERSION)"' -Ilib
# --as-needed: a program that makes no HTTP request does not load libcurl and its libraries
MLDFLAGS = -pie -Wl,-z,relro,-z,now -Wl,--as-needed
# libc before libonig: Oniguruma exports regcomp, regexec and regfree of its own, which would
# otherwise take the place of libc's POSIX ones that the rules and detectors call
LIBS = -ljq -lyaml -lcurl -lcrypto -lm -lc -lonig
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer

LIBSRC = $(wildcard lib/*.c)
LIBOBJ = $(LIBSRC:%.c=$(BUILD)/%.o)
LIBA = $(BUILD)/lib/libmallcop.a
PROGSRC = $(wildcard bin/mallcop-*.c)
PROGS = $(PROGSRC:%.c=$(BUILD)/%)
SCRIPTS = $(filter-out %.c %.o %.d $(PROGSRC:.c=),$(wildcard bin/mallcop-*))
UNITSRC = $(wildcard tests/unit/test_*.c)
UNITS = $(UNITSRC:%.c=$(BUILD)/%)
MANPAGES = $(wildcard man/man1/*.1 man/man5/*.5 man/man7/*.7)
FUZZSRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZNAMES = $(FUZZSRC:tests/fuzz/fuzz_%.c=%)
REPLAYS = $(FUZZNAMES:%=$(BUILD)/tests/unit/test_fuzz_%)
FUZZTIME ?= 120

all: $(PROGS) $(UNITS) $(REPLAYS)

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(MCFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIBOBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

$(BUILD)/bin/%: bin/%.c $(LIBA) $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(MCFLAGS) $(CFLAGS) $(LDFLAGS) $(MLDFLAGS) -o $@ $< $(LIBA) $(LIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(MCFLAGS) $(CFLAGS) $(LDFLAGS) $(MLDFLAGS) -o $@ $< $(LIBA) $(LIBS)

# a fuzz harness with a main() that feeds it the inputs kept in tests/fuzz: a unit test of check
$(BUILD)/tests/unit/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(wildcard tests/fuzz/*.h) \
		$(LIBA) $(wildcard lib/*.h) $(PROGSRC) lib/llm.c
	@mkdir -p $(@D)
	$(CC) $(MCFLAGS) $(CFLAGS) $(LDFLAGS) $(MLDFLAGS) -DFUZZ_NAME='"$*"' \
		-DFUZZ_DIR='"$(CURDIR)/tests/fuzz"' -o $@ $< tests/fuzz/replay.c $(LIBA) $(LIBS)

# the same harness under libFuzzer (clang only)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(LIBA) $(wildcard lib/*.h) \
		$(PROGSRC) lib/llm.c
	$(CC) $(MCFLAGS) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) $(MLDFLAGS) -o $@ $< $(LIBA) $(LIBS)

deps:
	@sh tests/install-deps

# every test, then every test again under ASan and UBSan; one summary line at the end
check: deps
	@$(MAKE) -s all
	@$(MAKE) -s BUILD=build/san CFLAGS='$(SANFLAGS)' LDFLAGS='-fsanitize=address,undefined' all
	@sh tests/run . build/san

sanitize: deps
	@$(MAKE) -s BUILD=build/san CFLAGS='$(SANFLAGS)' LDFLAGS='-fsanitize=address,undefined' all
	@sh tests/run build/san

demo: deps
	@$(MAKE) -s all
	@sh share/mallcop/demo/run

# every harness in tests/fuzz under libFuzzer for FUZZTIME seconds (not part of check: long runs);
# an input that crashes one is kept in tests/fuzz/crashes/NAME, which check then replays
fuzz:
	@sh tests/install-deps fuzz
	@$(MAKE) -s BUILD=build/fuzz CC=clang CFLAGS='$(SANFLAGS) -fsanitize=fuzzer-no-link' \
		LDFLAGS='-fsanitize=address,undefined' $(FUZZNAMES:%=build/fuzz/fuzz_%)
	@sh tests/fuzz/run $(FUZZTIME) $(FUZZNAMES)

bench: deps
	@$(MAKE) -s all
	@sh tests/bench/run

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	sed -e 's|^libexecdir=.*|libexecdir=$(LIBEXECDIR)|' -e 's|^mandir=.*|mandir=$(MANDIR)|' \
		mallcop > $(DESTDIR)$(BINDIR)/mallcop
	chmod 755 $(DESTDIR)$(BINDIR)/mallcop
	install -m 755 $(PROGS) $(SCRIPTS) $(DESTDIR)$(LIBEXECDIR)
	cp -R share/mallcop/. $(DESTDIR)$(DATADIR)
	for f in $(MANPAGES); do install -m 644 $$f $(DESTDIR)$(MANDIR)/$${f#man/}; done

clean:
	rm -rf build lib/*.o lib/libmallcop.a $(PROGS) $(UNITS) $(REPLAYS)

.PHONY: all deps check sanitize demo fuzz bench install clean
