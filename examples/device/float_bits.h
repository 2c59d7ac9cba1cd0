/*===- float_bits.h - Floats as their bits, for exact comparisons ---------===//
 *
 * The device programs print losses as float bits (newlib's printf has no
 * %a), so that runs on different targets compare exactly.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_EXAMPLES_DEVICE_FLOAT_BITS_H
#define KILN_EXAMPLES_DEVICE_FLOAT_BITS_H

#include <stdint.h>
#include <string.h>

static inline unsigned long float_bits(float v) {
  uint32_t b;
  memcpy(&b, &v, sizeof b);
  return (unsigned long)b;
}

#endif /* KILN_EXAMPLES_DEVICE_FLOAT_BITS_H */
