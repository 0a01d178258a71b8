/* OME-XML rescaling keeps everything but the sizes it must change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/metadata.h"
#include "testlib.h"

static void test_ome_rescale(void)
{
    const char *ome =
        "<?xml version=\"1.0\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\">"
        "<Image ID=\"Image:0\"><Pixels DimensionOrder=\"XYZCT\" ID=\"Pixels:0\" SizeC=\"1\" "
        "SizeT=\"1\" SizeX=\"512\" SizeY=\"300\" SizeZ=\"5\" Type=\"uint16\" "
        "PhysicalSizeX=\"0.65\" PhysicalSizeXUnit=\"\xc2\xb5m\" PhysicalSizeY = '0.5' "
        "PhysicalSizeZ=\"2.0\"><Channel ID=\"Channel:0:0\"/></Pixels></Image></OME>";
    CHECK(sr_description_kind(ome) == 1);
    char *d = sr_description_rescale(ome, 512, 300, 2048, 1200, 4.0, 4.0);
    CHECK(d != NULL);
    if (!d)
        return;
    CHECK(strstr(d, "SizeX=\"2048\"") != NULL);
    CHECK(strstr(d, "SizeY=\"1200\"") != NULL);
    CHECK(strstr(d, "PhysicalSizeX=\"0.1625\"") != NULL);
    CHECK(strstr(d, "PhysicalSizeY = '0.125'") != NULL);
    /* Untouched: Z, units, channels, the rest of the document. */
    CHECK(strstr(d, "SizeZ=\"5\"") != NULL);
    CHECK(strstr(d, "PhysicalSizeZ=\"2.0\"") != NULL);
    CHECK(strstr(d, "PhysicalSizeXUnit=\"\xc2\xb5m\"") != NULL);
    CHECK(strstr(d, "<Channel ID=\"Channel:0:0\"/></Pixels></Image></OME>") != NULL);
    /* Nothing else moved: the length changes by exactly the edited values. */
    CHECK(strlen(d) == strlen(ome) + (4 - 3) + (4 - 3) + (6 - 4) + (5 - 3));
    free(d);
}

static void test_two_images(void)
{
    const char *ome = "<OME><Image><Pixels SizeX=\"10\" SizeY=\"20\"/></Image>"
                      "<Image><Pixels SizeY=\"30\" SizeX=\"40\"></Pixels></Image></OME>";
    char *d = sr_description_rescale(ome, 10, 20, 7, 9, 2, 2);
    CHECK(d && !strcmp(d, "<OME><Image><Pixels SizeX=\"7\" SizeY=\"9\"/></Image>"
                          "<Image><Pixels SizeY=\"9\" SizeX=\"7\"></Pixels></Image></OME>"));
    free(d);
}

static void test_namespace_prefix_and_quoted_gt(void)
{
    const char *ome = "<ome:OME xmlns:ome=\"x\"><ome:Image Name=\"a > b\"><ome:Pixels Name=\"c>d\" "
                      "SizeX=\"12\" SizeY=\"10\" PhysicalSizeX=\"0.5\"/></ome:Image></ome:OME>";
    CHECK(sr_description_kind(ome) == 1);
    char *d = sr_description_rescale(ome, 12, 10, 48, 40, 4, 4);
    CHECK(d && strstr(d, "SizeX=\"48\" SizeY=\"40\" PhysicalSizeX=\"0.125\"/>"));
    CHECK(d && strstr(d, "Name=\"c>d\""));
    free(d);
    /* <PixelsXYZ> is another element. */
    CHECK(sr_description_rescale("<OME><PixelsX SizeX=\"3\"/></OME>", 3, 3, 6, 6, 2, 2) == NULL);
}

static void test_imagej_and_plain(void)
{
    /* ImageJ: no XY size in the text; unit, Z spacing, ranges stay. */
    const char *ij = "ImageJ=1.53t\nimages=3\nslices=3\nunit=micron\nspacing=0.5\nloop=false\n";
    CHECK(sr_description_kind(ij) == 2);
    CHECK(sr_description_rescale(ij, 5, 5, 10, 10, 2, 2) == NULL);
    CHECK(sr_description_rescale("a scanner wrote this", 5, 5, 10, 10, 2, 2) == NULL);
    CHECK(sr_description_rescale(NULL, 5, 5, 10, 10, 2, 2) == NULL);
    /* Malformed XML (no closing quote) is left alone, not crashed on. */
    char *d = sr_description_rescale("<OME><Pixels SizeX=\"10", 10, 10, 1, 1, 2, 2);
    free(d);
}

static void test_imagej_origin(void)
{
    /* The origin is in pixels: the same physical origin is 2x further. */
    const char *ij = "ImageJ=1.53t\nunit=micron\nxorigin=10.5\nyorigin=-3\nmin=1.0\n";
    char *d = sr_description_rescale(ij, 8, 8, 16, 24, 2, 3);
    CHECK(d && !strcmp(d, "ImageJ=1.53t\nunit=micron\nxorigin=21\nyorigin=-9\nmin=1.0\n"));
    free(d);
}

static void expect_json(const char *in, int ow, int oh, int nw, int nh, const char *want)
{
    char *d = sr_description_rescale(in, ow, oh, nw, nh, (double)nw / ow, (double)nh / oh);
    if (want)
        CHECK_MSG(d && !strcmp(d, want), "%s -> %s", in, d ? d : "(unchanged)");
    else
        CHECK_MSG(d == NULL, "%s -> %s (expected unchanged)", in, d);
    free(d);
}

static void test_tifffile_json_shape(void)
{
    CHECK(sr_description_kind("{\"shape\": [31, 61, 57]}") == 3);
    /* [Z, H, W], [H, W], [H, W, S], [T, C, H, W, S] */
    expect_json("{\"shape\": [31, 61, 57]}", 57, 61, 114, 122, "{\"shape\": [31, 122, 114]}");
    expect_json("{\"shape\": [512, 512]}", 512, 512, 1024, 1024, "{\"shape\": [1024, 1024]}");
    expect_json("{\"shape\": [30, 40, 3]}", 40, 30, 80, 60, "{\"shape\": [60, 80, 3]}");
    expect_json(" {\"axes\": \"TCYXS\", \"shape\":[2,3,30,40,4], \"x\": {\"shape\": [30, 40]}}",
                40, 30, 120, 90,
                " {\"axes\": \"TCYXS\", \"shape\":[2,3,90,120,4], \"x\": {\"shape\": [30, 40]}}");
    /* planar samples come before H, W: the trailing pair is used */
    expect_json("{\"shape\": [3, 30, 40]}", 40, 30, 80, 60, "{\"shape\": [3, 60, 80]}");
    /* other keys, escapes and nesting pass through */
    expect_json("{\"note\": \"a \\\"q\\\" [30, 40]\", \"shape\": [30, 40], \"v\": [1.5e3, true, null, {}]}",
                40, 30, 80, 60,
                "{\"note\": \"a \\\"q\\\" [30, 40]\", \"shape\": [60, 80], \"v\": [1.5e3, true, null, {}]}");
    /* a shape that does not name this page's size: left alone */
    expect_json("{\"shape\": [31, 61, 57]}", 60, 60, 120, 120, NULL);
    expect_json("{\"shape\": [40]}", 40, 1, 80, 2, NULL);
    /* malformed JSON: left alone, never crashed on */
    static const char *const bad[] = {
        "{\"shape\": [30, 40]",     "{\"shape\": [30, 40]} x", "{\"shape\": [30, 40,]}",
        "{\"shape\" [30, 40]}",     "{\"shape\": [30, \"40\"]}", "{\"shape\": [30.0, 40]}",
        "{\"shape\": [-30, 40]}",   "{\"shape\": [[30, 40]]}", "{\"shape\": \"30 40\"}",
        "{\"shape\": [30, 40], \"s\": \"\\",  "{",  "{\"a\": tru}", "{\"a\": 1e}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_json(bad[i], 40, 30, 80, 60, NULL);
    /* deep nesting is refused, not recursed into without bound */
    char deep[4096];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"shape\": [30, 40], \"d\": ");
    for (int i = 0; i < 1000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 1000; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = 0;
    expect_json(deep, 40, 30, 80, 60, NULL);
}

static void test_ijmeta_drop_rois(void)
{
    /* big-endian: info (1 entry, 4 bytes), roi (1, 3 bytes), labl (2, 2+1 bytes) */
    static const uint8_t ij[] = {'I', 'J', 'I', 'J', 'i', 'n', 'f', 'o', 0, 0, 0, 1,
                                 'r', 'o', 'i', ' ', 0, 0, 0, 1, 'l', 'a', 'b', 'l', 0, 0, 0, 2,
                                 'A', 'B', 'C', 'D', 'r', 'r', 'r', 'L', '1', 'M'};
    static const uint32_t counts[] = {28, 4, 3, 2, 1};
    uint8_t out[sizeof ij];
    uint32_t oc[5];
    size_t len = 0, n = 0;
    CHECK(sr_ijmeta_drop_rois(ij, sizeof ij, counts, 5, out, &len, oc, &n) == 1);
    static const uint8_t want[] = {'I', 'J', 'I', 'J', 'i', 'n', 'f', 'o', 0, 0, 0, 1,
                                   'l', 'a', 'b', 'l', 0, 0, 0, 2, 'A', 'B', 'C', 'D', 'L', '1', 'M'};
    CHECK(len == sizeof want && !memcmp(out, want, len));
    CHECK(n == 4 && oc[0] == 20 && oc[1] == 4 && oc[2] == 2 && oc[3] == 1);
    /* nothing to drop, or not well-formed: 0, out untouched */
    static const uint32_t no_roi_counts[] = {12, 4};
    CHECK(sr_ijmeta_drop_rois(ij, 16, no_roi_counts, 2, out, &len, oc, &n) == 0);
    static const uint32_t bad_sum[] = {28, 4, 3, 2, 2};
    static const uint32_t bad_hdr[] = {27, 4, 3, 2, 2};
    static const uint32_t big_hdr[] = {4000, 4, 3, 2, 1};
    CHECK(sr_ijmeta_drop_rois(ij, sizeof ij, bad_sum, 5, out, &len, oc, &n) == 0);
    CHECK(sr_ijmeta_drop_rois(ij, sizeof ij, bad_hdr, 5, out, &len, oc, &n) == 0);
    CHECK(sr_ijmeta_drop_rois(ij, sizeof ij, big_hdr, 5, out, &len, oc, &n) == 0);
    CHECK(sr_ijmeta_drop_rois(ij, sizeof ij, counts, 4, out, &len, oc, &n) == 0);
    CHECK(sr_ijmeta_drop_rois(ij + 1, sizeof ij - 1, counts, 5, out, &len, oc, &n) == 0);
    CHECK(sr_ijmeta_drop_rois(NULL, 0, NULL, 0, out, &len, oc, &n) == 0);
    /* a header claiming 2^32-1 entries does not run past the counts */
    uint8_t huge[sizeof ij];
    memcpy(huge, ij, sizeof ij);
    memset(huge + 16, 0xff, 4);
    CHECK(sr_ijmeta_drop_rois(huge, sizeof huge, counts, 5, out, &len, oc, &n) == 0);
    /* little-endian ("JIJI"): type codes read reversed */
    static const uint8_t le[] = {'J', 'I', 'J', 'I', ' ', 'i', 'o', 'r', 1, 0, 0, 0, 'x'};
    static const uint32_t le_counts[] = {12, 1};
    CHECK(sr_ijmeta_drop_rois(le, sizeof le, le_counts, 2, out, &len, oc, &n) == 1);
    CHECK(n == 1 && oc[0] == 4 && len == 4 && !memcmp(out, "JIJI", 4));
}

int main(void)
{
    RUN(test_ome_rescale);
    RUN(test_two_images);
    RUN(test_namespace_prefix_and_quoted_gt);
    RUN(test_imagej_and_plain);
    RUN(test_imagej_origin);
    RUN(test_tifffile_json_shape);
    RUN(test_ijmeta_drop_rois);
    return testlib_summary();
}
