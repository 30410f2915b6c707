/* dothi-spatialite-blob.c: ISO WKB <-> SpatiaLite BLOB-Geometry.
 *
 * The blob is: 0x00, endian 0x01, SRID (int32), MBR (4 doubles), 0x7C,
 * class type (int32), the body, 0xFE. Collections hold their entities each
 * as 0x69 + class type + body. Type codes are ISO's: +1000 Z, +2000 M,
 * +3000 ZM. Only little-endian uncompressed blobs are written. */
#define G_LOG_DOMAIN "dothi-blob"

#include "dothi-spatialite-blob.h"

#include <math.h>
#include <string.h>

typedef struct {
  const guint8 *p;
  const guint8 *end;
  gboolean      swap;
} Reader;

static gboolean
read_u32 (Reader *r, guint32 *v)
{
  guint32 x;

  if (r->end - r->p < 4)
    return FALSE;
  memcpy (&x, r->p, 4);
  r->p += 4;
  *v = r->swap ? GUINT32_SWAP_LE_BE (x) : x;
  return TRUE;
}

static gboolean
read_doubles (Reader *r, double *v, guint n)
{
  if ((gsize) (r->end - r->p) < 8 * (gsize) n)
    return FALSE;
  memcpy (v, r->p, 8 * n);
  r->p += 8 * n;
  if (r->swap)
    for (guint i = 0; i < n; i++)
      {
        guint64 x;
        memcpy (&x, &v[i], 8);
        x = GUINT64_SWAP_LE_BE (x);
        memcpy (&v[i], &x, 8);
      }
  return TRUE;
}

static void
put_u32 (GByteArray *out, guint32 v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, 4);
}

static void
put_doubles (GByteArray *out, const double *v, guint n)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  g_byte_array_append (out, (const guint8 *) v, 8 * n);
#else
  for (guint i = 0; i < n; i++)
    {
      guint64 x;
      memcpy (&x, &v[i], 8);
      x = GUINT64_TO_LE (x);
      g_byte_array_append (out, (const guint8 *) &x, 8);
    }
#endif
}

static guint
dims_of (guint32 type)
{
  switch (type / 1000)
    {
    case 0:
      return 2;
    case 1:
    case 2:
      return 3;
    case 3:
      return 4;
    default:
      return 0;
    }
}

static void
grow_mbr (double mbr[4], const double *c)
{
  if (c[0] < mbr[0]) mbr[0] = c[0];
  if (c[1] < mbr[1]) mbr[1] = c[1];
  if (c[0] > mbr[2]) mbr[2] = c[0];
  if (c[1] > mbr[3]) mbr[3] = c[1];
}

static gboolean
copy_points (Reader *r, GByteArray *out, guint dims, guint32 n, double mbr[4])
{
  double c[4];

  if ((gsize) (r->end - r->p) / (8 * dims) < n)
    return FALSE;
  for (guint32 i = 0; i < n; i++)
    {
      if (!read_doubles (r, c, dims))
        return FALSE;
      if (mbr != NULL)
        grow_mbr (mbr, c);
      put_doubles (out, c, dims);
    }
  return TRUE;
}

/* Body of a simple (non-collection) geometry of @base type: the same in
 * WKB and in SpatiaLite blobs. @mbr may be NULL. */
static gboolean
copy_simple_body (Reader *r, GByteArray *out, guint32 base, guint dims, double mbr[4])
{
  guint32 n, rings;

  switch (base)
    {
    case 1:
      return copy_points (r, out, dims, 1, mbr);
    case 2:
      if (!read_u32 (r, &n))
        return FALSE;
      put_u32 (out, n);
      return copy_points (r, out, dims, n, mbr);
    case 3:
      if (!read_u32 (r, &rings))
        return FALSE;
      put_u32 (out, rings);
      for (guint32 i = 0; i < rings; i++)
        {
          if (!read_u32 (r, &n))
            return FALSE;
          put_u32 (out, n);
          if (!copy_points (r, out, dims, n, mbr))
            return FALSE;
        }
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
read_header (Reader *r, guint32 *type)
{
  if (r->p >= r->end)
    return FALSE;
  if (*r->p != 0 && *r->p != 1)
    return FALSE;
  r->swap = (*r->p == 1) != (G_BYTE_ORDER == G_LITTLE_ENDIAN);
  r->p++;
  return read_u32 (r, type);
}

gboolean
dothi_blob_from_wkb (const guint8 *wkb, gsize wkb_len, int srid,
                     GByteArray *out, double mbr_out[4])
{
  Reader r = { wkb, wkb + wkb_len, FALSE };
  double mbr[4] = { G_MAXDOUBLE, G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE };
  guint32 type, base, dims;
  static const guint8 zero_mbr[32] = { 0 };

  g_byte_array_set_size (out, 0);
  if (!read_header (&r, &type))
    return FALSE;
  base = type % 1000;
  dims = dims_of (type);
  if (dims == 0 || base < 1 || base > 7)
    return FALSE;

  g_byte_array_append (out, (const guint8 *) "\x00\x01", 2);
  put_u32 (out, (guint32) srid);
  g_byte_array_append (out, zero_mbr, 32);  /* filled in below */
  g_byte_array_append (out, (const guint8 *) "\x7c", 1);
  put_u32 (out, type);

  if (base <= 3)
    {
      if (!copy_simple_body (&r, out, base, dims, mbr))
        return FALSE;
    }
  else
    {
      guint32 n;

      if (!read_u32 (&r, &n))
        return FALSE;
      put_u32 (out, n);
      for (guint32 i = 0; i < n; i++)
        {
          guint32 sub_type, sub_base;
          gboolean outer_swap = r.swap;

          if (!read_header (&r, &sub_type))
            return FALSE;
          sub_base = sub_type % 1000;
          /* SpatiaLite entities are simple geometries of the same
           * dimensions; a MULTIPOLYGON holds only polygons. */
          if (dims_of (sub_type) != dims || sub_base > 3
              || (base != 7 && sub_base != base - 3))
            return FALSE;
          g_byte_array_append (out, (const guint8 *) "\x69", 1);
          put_u32 (out, sub_type);
          if (!copy_simple_body (&r, out, sub_base, dims, mbr))
            return FALSE;
          r.swap = outer_swap;
        }
    }
  if (r.p != r.end)
    return FALSE;
  g_byte_array_append (out, (const guint8 *) "\xfe", 1);

  if (mbr[0] > mbr[2])  /* empty geometry */
    memset (mbr, 0, sizeof mbr);

  {
    guint8 *dst = out->data + 6;
    for (guint i = 0; i < 4; i++)
      {
        guint64 x;
        memcpy (&x, &mbr[i], 8);
        x = GUINT64_TO_LE (x);
        memcpy (dst + 8 * i, &x, 8);
      }
  }
  if (mbr_out != NULL)
    memcpy (mbr_out, mbr, sizeof mbr);
  return TRUE;
}

gboolean
dothi_blob_to_wkb (const guint8 *blob, gsize blob_len, GByteArray *out, int *srid)
{
  Reader r = { blob, blob + blob_len, FALSE };
  guint32 s, type, base, dims;

  g_byte_array_set_size (out, 0);
  if (blob_len < 44 || blob[0] != 0x00 || (blob[1] != 0x01 && blob[1] != 0x00)
      || blob[38] != 0x7c || blob[blob_len - 1] != 0xfe)
    return FALSE;
  r.swap = (blob[1] == 0x01) != (G_BYTE_ORDER == G_LITTLE_ENDIAN);
  r.p = blob + 2;
  r.end = blob + blob_len - 1;
  if (!read_u32 (&r, &s))
    return FALSE;
  if (srid != NULL)
    *srid = (int) s;
  r.p = blob + 39;
  if (!read_u32 (&r, &type))
    return FALSE;
  base = type % 1000;
  dims = dims_of (type);
  if (dims == 0 || base < 1 || base > 7)
    return FALSE;  /* compressed or unknown class */

  g_byte_array_append (out, (const guint8 *) "\x01", 1);
  put_u32 (out, type);
  if (base <= 3)
    return copy_simple_body (&r, out, base, dims, NULL) && r.p == r.end;

  {
    guint32 n;
    if (!read_u32 (&r, &n))
      return FALSE;
    put_u32 (out, n);
    for (guint32 i = 0; i < n; i++)
      {
        guint32 sub_type;

        if (r.p >= r.end || *r.p != 0x69)
          return FALSE;
        r.p++;
        if (!read_u32 (&r, &sub_type) || sub_type % 1000 > 3 || dims_of (sub_type) != dims)
          return FALSE;
        g_byte_array_append (out, (const guint8 *) "\x01", 1);
        put_u32 (out, sub_type);
        if (!copy_simple_body (&r, out, sub_type % 1000, dims, NULL))
          return FALSE;
      }
  }
  return r.p == r.end;
}

gboolean
dothi_wkb_first_point (const guint8 *wkb, gsize len, double *x, double *y)
{
  for (int depth = 0; depth < 4; depth++)
    {
      gboolean le;
      guint32 type, n;
      double v[2];

      if (len < 5)
        return FALSE;
      le = wkb[0] == 1;
      memcpy (&type, wkb + 1, 4);
      type = le ? GUINT32_FROM_LE (type) : GUINT32_FROM_BE (type);
      type = (type & 0xffff) % 1000;
      if (type == 1)
        {
          if (len < 21)
            return FALSE;
          for (int i = 0; i < 2; i++)
            {
              guint64 bits;
              memcpy (&bits, wkb + 5 + 8 * i, 8);
              bits = le ? GUINT64_FROM_LE (bits) : GUINT64_FROM_BE (bits);
              memcpy (&v[i], &bits, 8);
            }
          if (isnan (v[0]) || isnan (v[1]))
            return FALSE;
          *x = v[0];
          *y = v[1];
          return TRUE;
        }
      if (type != 4 && type != 7)
        return FALSE;
      if (len < 9)
        return FALSE;
      memcpy (&n, wkb + 5, 4);
      n = le ? GUINT32_FROM_LE (n) : GUINT32_FROM_BE (n);
      if (n == 0)
        return FALSE;
      wkb += 9;
      len -= 9;
    }
  return FALSE;
}
