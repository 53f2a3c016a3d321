# claimd build. `make` builds everything into build/; `make run` starts a daemon on ./var;
# `make test` runs the whole suite (TAP through prove). Missing Debian packages are installed
# by scripts/deps.sh before anything is compiled.

PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR  ?=
BUILD    ?= build
# One spelling of the build dir: the tests call make with BUILD=$(abspath build), and the
# dependency files an object's build writes name it as spelled then. Spelled two ways, a header
# change rebuilt only the objects last built under the spelling in use, and left the others stale.
override BUILD := $(patsubst $(CURDIR)/%,%,$(abspath $(BUILD)))
# Goals may still be named by their absolute path (the tests do): each is the relative one.
ifneq ($(abspath $(BUILD)),$(BUILD))
$(abspath $(BUILD))/%: $(BUILD)/% ;
endif
CC       ?= cc
# The one version number lives in include/claimd.h (CLAIMD_VERSION_*).
VERSION  := $(shell sed -n 's/^\#define CLAIMD_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' include/claimd.h | paste -sd.)
# libclaimd's soname: bumped only by an incompatible ABI change (docs/clients.md, "The C library").
SONAME_MAJOR := 0

PKGS     := lmdb libuv msgpack libutf8proc icu-uc icu-i18n hunspell libzstd
WARN     := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wwrite-strings -Wno-unused-parameter
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN) $(CFLAGS) -Iinclude -Icommon -Idaemon -Idaemon/text -Idaemon/search -Iclient \
            -DCLAIMD_VERSION_STRING='"$(VERSION)"'
LDLIBS_DAEMON = $$(pkg-config --libs $(PKGS)) -lstemmer -lnats -lpthread -lm
LDLIBS_CLIENT = $$(pkg-config --libs msgpack) 

# make SANITIZE=address,undefined test
ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -O1
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

COMMON_SRC  := $(wildcard common/*.c)
DAEMON_SRC  := $(filter-out daemon/main.c,$(wildcard daemon/*.c daemon/text/*.c daemon/search/*.c))
CLIENT_SRC  := $(wildcard client/*.c)
CTL_SRC     := $(wildcard client/claimctl/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
DAEMON_OBJ := $(call obj,$(DAEMON_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
CTL_OBJ    := $(call obj,$(CTL_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all deps run test unit-tests install clean bench
all: deps $(BUILD)/claimd $(BUILD)/claimctl $(BUILD)/libclaimd.a $(BUILD)/libclaimd.so \
     $(BUILD)/claimd.pc $(BUILD)/examples/uv_client

deps:
	@scripts/deps.sh build

# Order-only on deps: under make -j the packages are installed before the first compile needs
# their headers (a fresh machine otherwise failed on uv.h while deps.sh was still running).
$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $$(pkg-config --cflags $(PKGS)) -MMD -MP -c $< -o $@

$(BUILD)/claimd: $(call obj,daemon/main.c) $(DAEMON_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_DAEMON)

# libclaimd.a holds one relocatable object with every global but claimd_* made local, so a
# static link sees the same API as the shared library and no internal cd_* name can clash with
# one of the program's own (by name, not visibility: objects built before -fvisibility=hidden
# give the same archive).
$(BUILD)/obj/libclaimd-static.o: $(CLIENT_OBJ) $(COMMON_OBJ)
	$(CC) -r -nostdlib -o $@ $^
	objcopy --wildcard --keep-global-symbol='claimd_*' $@

$(BUILD)/libclaimd.a: $(BUILD)/obj/libclaimd-static.o
	rm -f $@ && ar rcs $@ $^

# Only CLAIMD_API symbols are exported (-fvisibility=hidden), each under the version node of
# client/libclaimd.map; -z defs refuses a library with an unresolved symbol.
$(BUILD)/libclaimd.so: $(CLIENT_OBJ) $(COMMON_OBJ) client/libclaimd.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libclaimd.so.$(SONAME_MAJOR) -Wl,-z,defs \
	    -Wl,--version-script=client/libclaimd.map -o $@ $(CLIENT_OBJ) $(COMMON_OBJ) $(LDLIBS_CLIENT)
	ln -sf libclaimd.so $(BUILD)/libclaimd.so.$(SONAME_MAJOR)

# claimctl parses times with common/isotime.c itself: the library's copy is internal.
$(BUILD)/claimctl: $(CTL_OBJ) $(call obj,common/isotime.c common/rating_vocab.c common/rating_labels.c) $(BUILD)/libclaimd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CLIENT) -ljansson -lm

# claimd.pc for the PREFIX/LIBDIR given: the rule re-runs whenever they differ from the last
# build's (recorded in $(BUILD)/claimd.pc.vars), so `make install PREFIX=/usr` installs a pc
# that says /usr.
PC_VARS := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(VERSION)
$(BUILD)/claimd.pc.vars: FORCE
	@mkdir -p $(BUILD)
	@echo '$(PC_VARS)' | cmp -s - $@ || echo '$(PC_VARS)' > $@

$(BUILD)/claimd.pc: client/claimd.pc.in $(BUILD)/claimd.pc.vars
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' client/claimd.pc.in > $@

# The non-blocking example (examples/uv_client.c): libuv drives the socket, libclaimd's reader
# and encoder do the protocol. Built against the shared library, as a user's program would be.
$(BUILD)/examples/uv_client: examples/uv_client.c include/claimd.h $(BUILD)/libclaimd.so
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(LDFLAGS) -Iinclude $$(pkg-config --cflags libuv) \
	    -o $@ examples/uv_client.c -L$(BUILD) -lclaimd -Wl,-rpath,$(abspath $(BUILD)) \
	    $$(pkg-config --libs libuv)

.PHONY: FORCE
FORCE:

$(BUILD)/tests/%: tests/unit/%.c $(DAEMON_OBJ) $(COMMON_OBJ) $(CLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $$(pkg-config --cflags $(PKGS)) $(LDFLAGS) -o $@ $^ $(LDLIBS_DAEMON)

unit-tests: $(UNIT_BIN) $(BUILD)/tests/nats_consume $(BUILD)/tests/nats_purge $(BUILD)/tests/ixcheck

# A JetStream consumer that is not claimd, for tests/py/publish.t.
$(BUILD)/tests/nats_consume: tests/nats/consume.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -lnats

# A stream's retention in one step, for tests/py/replica.t.
$(BUILD)/tests/nats_purge: tests/nats/purge.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -lnats

run: all
	@mkdir -p var/data
	$(BUILD)/claimd --data var/data --socket var/claimd.sock

test: all unit-tests
	@scripts/deps.sh test
	CLAIMD_BUILD=$(abspath $(BUILD)) CLAIMD_SANITIZED=$(SANITIZE) prove --exec '' $(UNIT_BIN) $(sort $(wildcard tests/*.t tests/py/*.t))

# The shared library as distributions ship it: the real file has the full version, the soname
# link is what programs load, the bare .so is what `-lclaimd` finds at build time.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(LIBDIR)/pkgconfig \
	    $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BUILD)/claimd $(DESTDIR)$(PREFIX)/sbin/claimd
	install -m 755 $(BUILD)/claimctl $(DESTDIR)$(PREFIX)/bin/claimctl
	install -m 644 $(BUILD)/libclaimd.a $(DESTDIR)$(LIBDIR)/libclaimd.a
	install -m 755 $(BUILD)/libclaimd.so $(DESTDIR)$(LIBDIR)/libclaimd.so.$(VERSION)
	ln -sf libclaimd.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libclaimd.so.$(SONAME_MAJOR)
	ln -sf libclaimd.so.$(SONAME_MAJOR) $(DESTDIR)$(LIBDIR)/libclaimd.so
	install -m 644 $(BUILD)/claimd.pc $(DESTDIR)$(LIBDIR)/pkgconfig/claimd.pc
	install -m 644 include/claimd.h $(DESTDIR)$(INCLUDEDIR)/claimd.h
	-install -m 644 docs/claimctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/claimctl.1
	-install -m 644 docs/claimd.8 $(DESTDIR)$(PREFIX)/share/man/man8/claimd.8

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)

# Fuzzing with clang's libFuzzer: `make fuzz-NAME [FUZZ_SECONDS=30]` runs the harness
# tests/fuzz/fuzz_NAME.c, built by its rule below for $(BUILD)/fuzz/fuzz_NAME. New inputs go to
# $(BUILD)/fuzz/corpus-NAME; tests/fuzz/corpus/NAME holds the seeds; findings land in $(BUILD)/fuzz/.
FUZZ_SECONDS ?= 30
comma := ,
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(WARN) -Icommon

# Not .PHONY (make looks for no pattern rule for a phony target): FORCE makes it run every time.
fuzz-%: $(BUILD)/fuzz/fuzz_% FORCE
	@mkdir -p $(BUILD)/fuzz/corpus-$*
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=2048 \
	    -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$* tests/fuzz/corpus/$*

# The harnesses without libFuzzer: tests/fuzz/standalone.c is their main (corpus replay, then
# random mutations for -max_total_time seconds), built with $(CC) from the build's own objects, so
# the sanitizer build (SANITIZE=...) checks them too. tests/fuzz.t runs them in `make test`.
# fuzz_unpack is left out: it reads ASan's allocator statistics.
FUZZ_STANDALONE := $(patsubst %,$(BUILD)/fuzz/standalone/fuzz_%,prescan reply record request query_cursor search_cursor)
$(FUZZ_STANDALONE): $(BUILD)/fuzz/standalone/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/standalone.c \
                    $(DAEMON_OBJ) $(COMMON_OBJ) $(CLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $$(pkg-config --cflags $(PKGS)) $(LDFLAGS) -o $@ $^ $(LDLIBS_DAEMON)

$(BUILD)/fuzz/fuzz_prescan: tests/fuzz/fuzz_prescan.c common/prescan.c common/prescan.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $$(pkg-config --cflags msgpack) -o $@ tests/fuzz/fuzz_prescan.c \
	    common/prescan.c $$(pkg-config --libs msgpack)

# Fuzzing libclaimd's reply decoder (client/codec.c): `make fuzz-reply [FUZZ_SECONDS=30]`.
# New inputs go to $(BUILD)/fuzz/corpus-reply; tests/fuzz/corpus/reply holds the seeds.
REPLY_FUZZ_SRC = tests/fuzz/fuzz_reply.c client/codec.c client/value.c client/args.c \
                 common/prescan.c common/codes.c

$(BUILD)/fuzz/fuzz_reply: $(REPLY_FUZZ_SRC) client/client.h include/claimd.h common/prescan.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Iinclude -Iclient $$(pkg-config --cflags msgpack) -o $@ \
	    $(REPLY_FUZZ_SRC) $$(pkg-config --libs msgpack)

# Fuzzing the decoders of stored records (claim, revision, entity, verdict), fed arbitrary bytes:
# `make fuzz-record [FUZZ_SECONDS=30]`. The daemon's sources are built instrumented into
# $(BUILD)/fuzz/obj; tests/fuzz/corpus/record holds the seeds (stored records as claimd writes them).
RECORD_FUZZ_OBJ = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(DAEMON_SRC) $(COMMON_SRC))

$(BUILD)/fuzz/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	clang $(subst fuzzer$(comma),fuzzer-no-link$(comma),$(FUZZ_CFLAGS)) -Iinclude -Idaemon -Idaemon/text -Idaemon/search -Iclient \
	    -DCLAIMD_VERSION_STRING='"$(VERSION)"' $$(pkg-config --cflags $(PKGS)) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/fuzz_record: tests/fuzz/fuzz_record.c $(RECORD_FUZZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Iinclude -Idaemon -Idaemon/text -Idaemon/search -Iclient $$(pkg-config --cflags $(PKGS)) -o $@ \
	    $^ $(LDLIBS_DAEMON)

# Fuzzing the daemon's request decoding (daemon/call.c, daemon/wire_values.c): `make fuzz-request`.
REQUEST_FUZZ_SRC = tests/fuzz/fuzz_request.c daemon/call.c daemon/wire_values.c daemon/params.c \
                   daemon/log.c daemon/text/text_fold.c common/prescan.c common/codes.c

$(BUILD)/fuzz/fuzz_request: $(REQUEST_FUZZ_SRC) daemon/call.h daemon/wire_values.h common/prescan.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Iinclude -Idaemon -Idaemon/text -Idaemon/search $$(pkg-config --cflags $(PKGS)) -o $@ \
	    $(REQUEST_FUZZ_SRC) $$(pkg-config --libs lmdb msgpack libutf8proc)

# Fuzzing what unpacking a request costs (pre-scan count, element rule, cd_call_new's allocation
# within cd_call_cost): `make fuzz-unpack [FUZZ_SECONDS=30]`. Seeds in tests/fuzz/corpus/unpack.
UNPACK_FUZZ_SRC = tests/fuzz/fuzz_unpack.c daemon/call.c daemon/wire_values.c daemon/params.c \
                  daemon/text/text_fold.c daemon/log.c common/prescan.c common/codes.c

$(BUILD)/fuzz/fuzz_unpack: $(UNPACK_FUZZ_SRC) daemon/call.h daemon/server.h common/prescan.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Iinclude -Idaemon -Idaemon/text -Idaemon/search $$(pkg-config --cflags $(PKGS)) -o $@ \
	    $(UNPACK_FUZZ_SRC) $$(pkg-config --libs lmdb msgpack libutf8proc)

# The claim.query and claim.search cursor decoders, alone (neither needs LMDB nor the text code).
QUERY_CURSOR_FUZZ_SRC = tests/fuzz/fuzz_query_cursor.c daemon/query_cursor.c

$(BUILD)/fuzz/fuzz_query_cursor: $(QUERY_CURSOR_FUZZ_SRC) daemon/query_cursor.h daemon/index.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Iinclude -Idaemon -Idaemon/text -Idaemon/search $$(pkg-config --cflags $(PKGS)) -o $@ $(QUERY_CURSOR_FUZZ_SRC)

SEARCH_CURSOR_FUZZ_SRC = tests/fuzz/fuzz_search_cursor.c daemon/search/search_cursor.c daemon/search/search_varint.c

$(BUILD)/fuzz/fuzz_search_cursor: $(SEARCH_CURSOR_FUZZ_SRC) daemon/search/search.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Iinclude -Idaemon -Idaemon/text -Idaemon/search $$(pkg-config --cflags $(PKGS)) -o $@ $(SEARCH_CURSOR_FUZZ_SRC) -lm

# Benchmarks against the peers and the limits (bench/README.md): `make bench` runs the 100k suite,
# `make bench BENCH_ARGS=--claims=1000000` the 1M one, `BENCH_ARGS=--smoke` a tiny one. It installs
# its peers (SQLite, Redis) with scripts/deps.sh, starts its own claimd and redis-server on
# sockets in a temp dir, prints the table and writes bench/results/latest.json.
BENCH_ARGS ?=
BENCH_SRC  := $(wildcard bench/*.c)
BENCH_OBJ  := $(call obj,$(BENCH_SRC))

.PHONY: bench-deps
bench-deps:
	@scripts/deps.sh bench

$(BENCH_OBJ): | bench-deps

$(BUILD)/claimbench: $(BENCH_OBJ) $(BUILD)/libclaimd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CLIENT) -lsqlite3 -lpthread -lm

bench: bench-deps $(BUILD)/claimd $(BUILD)/claimbench
	$(BUILD)/claimbench --claimd $(BUILD)/claimd $(BENCH_ARGS)

# `make bench-scale`: claimbench at each size of BENCH_SCALE in turn (10M:
# BENCH_SCALE="100000 1000000 10000000"), then bench/scale.py prints the growth table (also into
# BENCH_RESULTS/scale.md) and draws BENCH_RESULTS/scale.svg (bench/README.md, "Scale").
BENCH_SCALE ?= 100000 1000000
BENCH_SCALE_ARGS ?= --only=get,query,search,getload,writes
BENCH_RESULTS ?= bench/results
.PHONY: bench-scale
bench-scale: bench-deps $(BUILD)/claimd $(BUILD)/claimbench
	@for n in $(BENCH_SCALE); do \
	    $(BUILD)/claimbench --claimd $(BUILD)/claimd --claims=$$n --results=$(BENCH_RESULTS) \
	        $(BENCH_SCALE_ARGS) || exit 1; \
	done
	/usr/bin/python3 bench/scale.py --results $(BENCH_RESULTS) $(BENCH_SCALE) >$(BENCH_RESULTS)/scale.md
	@cat $(BENCH_RESULTS)/scale.md

# Long failure tests (issue 6). `make soak`: the kill -9 loop x1,000 and the other operations
# tests at length (tests/py/*.t read these knobs; `make test` runs the short versions).
# `make fuzz`: every tests/fuzz/fuzz_NAME.c through its fuzz-NAME rule, FUZZ_SECONDS=300 each
# (`make fuzz FUZZ_SECONDS=60` for less). `make test` runs ~10 s of each via tests/fuzz.t.
SOAK_ENV = CLAIMD_BUILD=$(abspath $(BUILD)) CLAIMD_CRASH_CYCLES=1000 CLAIMD_CRASH_FULL_EVERY=50 \
           CLAIMD_FLOOD_CLIENTS=6 CLAIMD_FLOOD_REQUESTS=5000 CLAIMD_GROWTH_MB=200 CLAIMD_TMPFS_MB=64 \
           CLAIMD_BACKUP_PRELOAD=30000 CLAIMD_TRICKLE_BYTES=1048576 CLAIMD_FUZZ_SECONDS=60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,fuzz-%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: soak fuzz
soak: all
	$(SOAK_ENV) prove --exec '' tests/py/crash_loop.t tests/py/storage.t tests/py/limits.t \
	    tests/py/backup.t tests/py/hostile.t tests/fuzz.t

fuzz: FUZZ_SECONDS = 300
fuzz: $(FUZZ_TARGETS)

# claimctl import rates at 100k claims for JSONL, CSV and ClaimReview, with claimctl's peak RSS,
# then a 1 GB JSONL import streamed in bounded memory (bench/import_bench.py):
# `make bench-import [IMPORT_BENCH_ARGS="--claims 100000 --big-gb 1"]`. tests/claimctl_big.t
# runs a 50 MB version in `make test` (CLAIMCTL_BIG_MB=1000 for the 1 GB one).
IMPORT_BENCH_ARGS ?=
.PHONY: bench-import
bench-import: all
	CLAIMD_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/import_bench.py $(IMPORT_BENCH_ARGS)

# Replication lag of a read replica under 64 durable writers, and claim.get on the replica next
# to the primary (bench/replica_bench.py; nats-server from `scripts/deps.sh test`):
# `make bench-replica [REPLICA_BENCH_ARGS="--clients 64 --seconds 10"]`.
REPLICA_BENCH_ARGS ?=
.PHONY: bench-replica
bench-replica: all
	CLAIMD_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/replica_bench.py $(REPLICA_BENCH_ARGS)
