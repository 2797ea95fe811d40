# cryo: one GNU Makefile. `make` builds ./cryo, `make check` runs every test.
#
# Objects go under build/<variant>/ so the normal, ASan and fuzz builds never
# mix. Only libc and the kernel headers are used.

CC        = gcc
CLANG     = clang
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	    -Wformat=2 -Wno-format-nonliteral
CPPFLAGS  = -Isrc -Itests -D_GNU_SOURCE -DCRYO_VERSION='"$(VERSION)"'
BASEFLAGS = -std=gnu11 $(WARN) -MMD -MP
VERSION  := $(shell cat VERSION)

LIB_SRCS  := $(sort $(wildcard src/lib/*.c src/image/*.c src/objhash/*.c src/core/*.c \
	       src/objects/*.c src/ptrace/*.c src/arch/x86_64/*.c src/session/*.c))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
CLI_TESTS := $(sort $(wildcard tests/cli/*.sh))
CR_SRCS   := $(sort $(wildcard tests/cr/*.c))
CORPUS    := tests/fuzz/corpus

# $(call objs,VARIANT,SOURCES): the objects, plus the restorer blob every variant links
objs = $(patsubst %.c,build/$(1)/%.o,$(2)) $(BLOB)

# --- the restorer blob: freestanding, position independent, embedded in cryo -----
# It runs after all of cryo is unmapped: no libc, no sanitizers, no absolute
# relocations. restorer.bin is its flat image; blob.o carries it as data.
BLOB = build/restorer/blob.o
RESTORER_CFLAGS = -std=gnu11 -O2 -g0 -Wall -Wextra -Werror -ffreestanding -fPIE -nostdlib \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-mgeneral-regs-only -fno-builtin -fno-tree-loop-distribute-patterns \
	-fvisibility=hidden -fcf-protection=none -Isrc

build/restorer/restorer.o: src/restorer/restorer.c src/restorer/restorer.h src/arch/x86_64/syscall-raw.h
	@mkdir -p $(dir $@)
	$(CC) $(RESTORER_CFLAGS) -c -o $@ $<

build/restorer/head.o: src/arch/x86_64/restorer-head.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

build/restorer/restorer.bin: build/restorer/head.o build/restorer/restorer.o src/restorer/restorer.lds
	@if readelf -rW build/restorer/restorer.o | grep -qE 'R_X86_64_(64|GOT)'; then \
	  echo "restorer: absolute or GOT relocations; the blob must be position independent"; \
	  exit 1; fi
	ld -T src/restorer/restorer.lds -o build/restorer/restorer.elf \
	  build/restorer/head.o build/restorer/restorer.o
	objcopy -O binary build/restorer/restorer.elf $@

$(BLOB): build/restorer/restorer.bin
	cd build/restorer && objcopy -I binary -O elf64-x86-64 -B i386:x86-64 \
	  --rename-section .data=.rodata,alloc,load,readonly,data,contents \
	  --add-section .note.GNU-stack=/dev/null restorer.bin blob.o

.DEFAULT_GOAL := all
.PHONY: all check asan fuzz fuzz-run fuzz-long format format-fix lint clean demo corpus bench soak
all: cryo

# --- normal build -----------------------------------------------------------
build/normal/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<

cryo: $(call objs,normal,$(CLI_SRCS) $(LIB_SRCS))
	$(CC) $(CFLAGS) -o $@ $^

build/normal/unit/%: build/normal/tests/unit/%.o $(call objs,normal,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^

build/normal/fuzz-replay: $(call objs,normal,tests/fuzz/fuzz_reader.c tests/fuzz/replay.c $(LIB_SRCS))
	$(CC) $(CFLAGS) -o $@ $^

UNIT_BINS := $(patsubst tests/unit/%.c,build/normal/unit/%,$(UNIT_SRCS))

# checkpoint/restart test programs: plain programs, no cryo code in them
CR_BINS := $(patsubst tests/cr/%.c,build/normal/cr/%,$(CR_SRCS))
build/normal/cr/%: tests/cr/%.c tests/cr/crtest.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -D_GNU_SOURCE -Itests -pthread -o $@ $<

CR_SCRIPTS := tests/cr/run.sh $(filter-out tests/cr/run.sh tests/cr/lib.sh,$(sort $(wildcard tests/cr/*.sh)))

check: cryo $(UNIT_BINS) build/normal/fuzz-replay $(CR_BINS) build/normal/demo-counter
	CRYO=$(CURDIR)/cryo CORPUS=$(CURDIR)/$(CORPUS) REPLAY=$(CURDIR)/build/normal/fuzz-replay \
	  CR_BIN=$(CURDIR)/build/normal/cr COUNTER=$(CURDIR)/build/normal/demo-counter \
	  prove --exec '' $(UNIT_BINS) tests/fuzz/replay.sh $(CLI_TESTS) $(CR_SCRIPTS)

# --- ASan + UBSan build of the tests ------------------------------------------
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) $(CPPFLAGS) -c -o $@ $<

build/asan/cryo: $(call objs,asan,$(CLI_SRCS) $(LIB_SRCS))
	$(CC) $(SANFLAGS) -o $@ $^

build/asan/unit/%: build/asan/tests/unit/%.o $(call objs,asan,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $^

build/asan/fuzz-replay: $(call objs,asan,tests/fuzz/fuzz_reader.c tests/fuzz/replay.c $(LIB_SRCS))
	$(CC) $(SANFLAGS) -o $@ $^

ASAN_BINS := $(patsubst tests/unit/%.c,build/asan/unit/%,$(UNIT_SRCS))

asan: build/asan/cryo $(ASAN_BINS) build/asan/fuzz-replay $(CR_BINS) build/normal/demo-counter
	CRYO=$(CURDIR)/build/asan/cryo CORPUS=$(CURDIR)/$(CORPUS) \
	  REPLAY=$(CURDIR)/build/asan/fuzz-replay CR_BIN=$(CURDIR)/build/normal/cr \
	  COUNTER=$(CURDIR)/build/normal/demo-counter \
	  prove --exec '' $(ASAN_BINS) tests/fuzz/replay.sh $(CLI_TESTS) $(CR_SCRIPTS)

# --- libFuzzer build (clang) ----------------------------------------------------
FUZZFLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	    -DCRYO_FUZZING

build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -Wall -Wextra -Werror -MMD -MP $(FUZZFLAGS) $(CPPFLAGS) -c -o $@ $<

# tests/fuzz/mutator.c is the structure-aware mutator (libFuzzer only, not in the replayer)
build/fuzz/fuzz-reader: $(call objs,fuzz,tests/fuzz/fuzz_reader.c tests/fuzz/mutator.c $(LIB_SRCS))
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^

fuzz: build/fuzz/fuzz-reader

# Run the fuzzer, one job: `make fuzz-run FUZZ_SECONDS=600`. New inputs land in
# build/fuzz/corpus, crashes in build/fuzz/crashes/. `make fuzz-long` runs an hour.
FUZZ_SECONDS ?= 60
fuzz-run: build/fuzz/fuzz-reader
	@mkdir -p build/fuzz/corpus build/fuzz/crashes
	build/fuzz/fuzz-reader -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  -artifact_prefix=build/fuzz/crashes/ build/fuzz/corpus $(CORPUS)

fuzz-long: FUZZ_SECONDS = 3600
fuzz-long: fuzz-run

# --- style ----------------------------------------------------------------------
STYLE_SRCS = $(shell git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 2>/dev/null)

format:
	@clang-format --dry-run --Werror $(STYLE_SRCS) && echo "format: clean"

format-fix:
	clang-format -i $(STYLE_SRCS)

lint:
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -Isrc -Itests \
	  src tests && echo "lint: clean"

# --- the README's demonstration, and the benchmarks --------------------------------
build/normal/demo-counter: tests/demo/counter.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -o $@ $<

demo: cryo build/normal/demo-counter
	./tests/demo.sh

bench: cryo
	bench/cr-bench.sh

# The soak (doc/reliability.md): 1,000 leave-running checkpoints of each of two
# busy workloads that check their own results, and checks that nothing leaks
SOAK_BINS := build/normal/soak/pty_echo build/normal/soak/mem_writer build/normal/soak/rss
build/normal/soak/%: tests/soak/%.c tests/cr/crtest.h tests/cr/ptytest.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -D_GNU_SOURCE -Itests -pthread -o $@ $<

build/normal/soak/rss: bench/rss.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -o $@ $<

soak: cryo build/asan/cryo $(SOAK_BINS)
	CRYO=$(CURDIR)/cryo CRYO_ASAN=$(CURDIR)/build/asan/cryo SOAK_BIN=$(CURDIR)/build/normal/soak \
	  tests/soak/soak.sh

clean:
	rm -rf build cryo

-include $(shell find build -name '*.d' 2>/dev/null)

# Regenerates the seed corpus from the test image builder.
corpus: $(call objs,normal,tests/fuzz/gen_corpus.c $(LIB_SRCS))
	$(CC) $(CFLAGS) -o build/normal/gen-corpus $^
	build/normal/gen-corpus $(CORPUS)
.SECONDARY:
