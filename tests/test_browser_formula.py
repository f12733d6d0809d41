"""The formula box in a real browser: a bad formula is shown once, inline, and Start is
refused; a long paste says it was cut; a formula typed without spaces finds its preset."""

from browser import Page, browser  # noqa: F401 (fixtures)


def test_a_bad_expression_is_shown_once_inline_and_start_is_refused(browser, server):
    page = Page(browser, server + "/curve")
    page.fill("expression", "__import__('os')")
    page.wait_for("document.getElementById('expression-error').textContent.length > 0")
    inline = page.js("document.getElementById('expression-error').textContent")
    assert "unknown name" in inline and len(inline) < 120  # no list of every function
    page.fill("expression", "sin(x")
    page.start()
    page.wait_for(
        "document.getElementById('expression-error').textContent.includes('never closed')"
    )
    assert page.js("document.getElementById('error').hidden")  # said once, not in a banner too
    assert page.js("window.bpnet.jobId") in (None, "")
    page.page.click("details.help summary")  # "what can I type?" lists the language
    assert page.page.is_visible("#formula-help")
    assert "sigmoid(a)" in page.js("document.getElementById('formula-help').textContent")
    page.check_clean()
    page.close()


def test_a_long_paste_says_it_was_cut(browser, server):
    page = Page(browser, server + "/curve")
    page.page.click("#expression")
    page.page.keyboard.press("Control+a")
    page.js(
        """(() => {
        const input = document.getElementById('expression');
        const data = new DataTransfer();
        data.setData('text', 'x+'.repeat(2500));
        input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
        input.value = 'x+'.repeat(100);  // what the browser keeps of it (maxlength 200)
        input.dispatchEvent(new Event('input', {bubbles: true}));
    })()"""
    )
    page.wait_for("document.getElementById('expression-error').textContent.includes('5000')")
    said = page.js("document.getElementById('expression-error').textContent")
    assert "at most 200" in said and "first 200" in said
    page.check_clean()
    page.close()


def test_a_formula_typed_without_spaces_selects_its_preset(browser, server):
    page = Page(browser, server + "/curve")
    page.page.fill("#expression", "x^3-x")
    assert page.js("document.getElementById('preset').value") == "x^3 - x"
    page.page.fill("#expression", "x^3-x+1")
    assert page.js("document.getElementById('preset').value") == ""
    page.close()
