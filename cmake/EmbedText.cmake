# cmake -DIN=FILE -DOUT=FILE.c -DNAME=symbol -P EmbedText.cmake: writes a C
# file defining `const char NAME[]`, FILE's bytes and a NUL. A byte array,
# not a string literal: C has no raw strings, and this needs no escaping.
file(READ ${IN} hex HEX)
get_filename_component(from ${IN} NAME) # not the path: builds stay reproducible
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* Generated from ${from} at build time: do not edit. */\n"
                  "const char ${NAME}[] = {${bytes}0x00};\n")
