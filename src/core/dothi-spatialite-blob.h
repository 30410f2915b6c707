/* dothi-spatialite-blob.h: converts ISO WKB to SpatiaLite's BLOB-Geometry
 * and back, in one pass and without SpatiaLite's per-row SQL functions.
 * Pure functions: safe from any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Appends to @out (cleared first) the SpatiaLite blob of ISO WKB @wkb with
 * @srid. Returns FALSE on malformed or unsupported WKB (curves must be
 * linearised first). @mbr (may be NULL) gets minx, miny, maxx, maxy. */
gboolean dothi_blob_from_wkb (const guint8 *wkb,
                              gsize         wkb_len,
                              int           srid,
                              GByteArray   *out,
                              double        mbr[4]);

/* Appends to @out (cleared first) the ISO WKB (little-endian) of a
 * SpatiaLite blob; @srid (may be NULL) gets its SRID. FALSE on a malformed
 * or compressed blob. */
gboolean dothi_blob_to_wkb   (const guint8 *blob,
                              gsize         blob_len,
                              GByteArray   *out,
                              int          *srid);

/* The first point of ISO or extended WKB (a Point, or the first part of
 * a MultiPoint or collection); FALSE when there is none. */
gboolean dothi_wkb_first_point (const guint8 *wkb,
                                gsize         len,
                                double       *x,
                                double       *y);

G_END_DECLS
