/* OME-XML rescaling keeps everything but the sizes it must change. */
#include <stdlib.h>
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
    char *d = sr_description_rescale(ome, 2048, 1200, 4.0, 4.0);
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
    char *d = sr_description_rescale(ome, 7, 9, 2, 2);
    CHECK(d && !strcmp(d, "<OME><Image><Pixels SizeX=\"7\" SizeY=\"9\"/></Image>"
                          "<Image><Pixels SizeY=\"9\" SizeX=\"7\"></Pixels></Image></OME>"));
    free(d);
}

static void test_namespace_prefix_and_quoted_gt(void)
{
    const char *ome = "<ome:OME xmlns:ome=\"x\"><ome:Image Name=\"a > b\"><ome:Pixels Name=\"c>d\" "
                      "SizeX=\"12\" SizeY=\"10\" PhysicalSizeX=\"0.5\"/></ome:Image></ome:OME>";
    CHECK(sr_description_kind(ome) == 1);
    char *d = sr_description_rescale(ome, 48, 40, 4, 4);
    CHECK(d && strstr(d, "SizeX=\"48\" SizeY=\"40\" PhysicalSizeX=\"0.125\"/>"));
    CHECK(d && strstr(d, "Name=\"c>d\""));
    free(d);
    /* <PixelsXYZ> is another element. */
    CHECK(sr_description_rescale("<OME><PixelsX SizeX=\"3\"/></OME>", 6, 6, 2, 2) == NULL);
}

static void test_imagej_and_plain_untouched(void)
{
    const char *ij = "ImageJ=1.53t\nimages=3\nslices=3\nunit=micron\nspacing=0.5\nloop=false\n";
    CHECK(sr_description_kind(ij) == 2);
    CHECK(sr_description_rescale(ij, 10, 10, 2, 2) == NULL);
    CHECK(sr_description_rescale("a scanner wrote this", 10, 10, 2, 2) == NULL);
    CHECK(sr_description_rescale(NULL, 10, 10, 2, 2) == NULL);
    /* Malformed XML (no closing quote) is left alone, not crashed on. */
    char *d = sr_description_rescale("<OME><Pixels SizeX=\"10", 1, 1, 2, 2);
    free(d);
}

int main(void)
{
    RUN(test_ome_rescale);
    RUN(test_two_images);
    RUN(test_namespace_prefix_and_quoted_gt);
    RUN(test_imagej_and_plain_untouched);
    return testlib_summary();
}
