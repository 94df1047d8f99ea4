/* src/libvirt/domain_xml.c - configs/libvirt/domain.xml built into ptshadow,
 * so that the binary needs no file beside it; --domain-xml FILE replaces it.
 * (The Makefile makes this object depend on the template.)
 */
__asm__(".section .rodata\n"
        ".global lv_domain_xml\n"
        ".type lv_domain_xml, @object\n"
        "lv_domain_xml:\n"
        ".incbin \"configs/libvirt/domain.xml\"\n"
        ".byte 0\n"
        ".size lv_domain_xml, . - lv_domain_xml\n"
        ".previous\n");
