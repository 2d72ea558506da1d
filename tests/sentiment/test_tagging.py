"""Symbol tagging, measured on labelled headlines: names, short names and tickers of the NIFTY 50 from
the seeded alias table, tickers from the instrument master, and the traps (another company whose name
contains one of theirs, a ticker that is also a word, a name used as a common noun)."""

import pytest

from sentiment.models import SymbolAlias
from sentiment.tagging import tagger_build
from trading.models import Instrument

pytestmark = pytest.mark.django_db

# (headline, the symbols it is about)
HEADLINES = [
    ("Infosys shares jump 4% after Q3 revenue beats estimates", {"INFY"}),
    ("Infosys's attrition falls to 12.9%", {"INFY"}),
    ("TCS, Infosys lead IT rally as rupee weakens", {"TCS", "INFY"}),
    ("Tata Consultancy Services wins $1 billion deal from UK insurer", {"TCS"}),
    ("SENSEX, NIFTY END HIGHER; INFOSYS, WIPRO TOP GAINERS", {"INFY", "WIPRO"}),
    ("ITC to demerge hotels business into separate entity", {"ITC"}),
    ("ITC Ltd cigarette volumes grow 3% in the quarter", {"ITC"}),
    ("Reliance Industries to invest Rs 75,000 crore in new energy", {"RELIANCE"}),
    ("Reliance Power shares hit upper circuit on debt settlement", {"RPOWER"}),
    ("Reliance Capital lenders approve resolution plan", set()),
    ("Reliance Jio adds 3 million subscribers in October", {"RELIANCE"}),
    ("RIL and Jio Financial Services to announce results on Friday", {"RELIANCE", "JIOFIN"}),
    ("State Bank of India raises Rs 10,000 crore via infra bonds", {"SBIN"}),
    ("SBI cuts lending rates by 10 basis points", {"SBIN"}),
    ("SBI Card spends rise 18% during festive season", {"SBICARD"}),
    ("SBI Life new business premium grows 14%", {"SBILIFE"}),
    ("HDFC Bank deposits grow 15% year on year", {"HDFCBANK"}),
    ("HDFC Life and HDFC Bank fall after weak guidance", {"HDFCLIFE", "HDFCBANK"}),
    ("HDFC AMC assets under management cross Rs 7 lakh crore", {"HDFCAMC"}),
    ("ICICI Bank net profit rises 17%", {"ICICIBANK"}),
    ("ICICI Lombard combined ratio worsens", {"ICICIGI"}),
    ("ICICI Prudential Life launches new term plan", {"ICICIPRULI"}),
    ("Kotak Mahindra Bank names new chief executive", {"KOTAKBANK"}),
    ("Tech Mahindra margins expand for third straight quarter", {"TECHM"}),
    ("Mahindra launches two electric SUVs priced from Rs 18 lakh", {"M&M"}),
    ("Mahindra & Mahindra tractor sales fall 5% in November", {"M&M"}),
    ("M&M, Maruti Suzuki and Tata Motors report record dispatches", {"M&M", "MARUTI", "TATAMOTORS"}),
    ("Mahindra Finance disbursements rise 12%", {"M&MFIN"}),
    ("Club Mahindra owner posts higher occupancy", set()),
    ("Maruti Suzuki's exports hit all-time high", {"MARUTI"}),
    ("Tata Motors and Tata Steel drag Nifty lower", {"TATAMOTORS", "TATASTEEL"}),
    ("Tata Power signs PPA for 200 MW solar project", {"TATAPOWER"}),
    ("Tata Consumer Products to acquire Capital Foods", {"TATACONSUM"}),
    ("Tata group companies lose Rs 50,000 crore in market value", set()),
    ("Larsen & Toubro bags 'mega' order from Middle East", {"LT"}),
    ("L&T Finance asset quality improves", {"LTF"}),
    ("L&T wins order for metro rail project", {"LT"}),
    ("LTIMindtree appoints new CEO", {"LTIM"}),
    ("Adani Ports cargo volumes rise 9%", {"ADANIPORTS"}),
    ("Adani Green commissions 1 GW in Rajasthan", {"ADANIGREEN"}),
    ("Adani Enterprises FPO fully subscribed", {"ADANIENT"}),
    ("Adani group stocks slide after US indictment", set()),
    ("Bajaj Finance AUM grows 28%, Bajaj Finserv up 3%", {"BAJFINANCE", "BAJAJFINSV"}),
    ("Bajaj Auto exports recover in November", {"BAJAJ-AUTO"}),
    ("Bharti Airtel raises mobile tariffs by up to 20%", {"BHARTIARTL"}),
    ("Airtel Africa shares fall in London", set()),
    ("Airtel to acquire stake in Indus Towers", {"BHARTIARTL"}),
    ("Sun Pharma gets USFDA approval for cancer drug", {"SUNPHARMA"}),
    ("Sun TV Network ad revenue declines", {"SUNTV"}),
    ("Dr. Reddy's Laboratories recalls 20,000 bottles in US", {"DRREDDY"}),
    ("Dr Reddy's profit beats street estimates", {"DRREDDY"}),
    ("Cipla and Sun Pharma lead pharma gains", {"CIPLA", "SUNPHARMA"}),
    ("Apollo Hospitals to raise Rs 2,000 crore", {"APOLLOHOSP"}),
    ("Apollo Tyres volumes flat in Europe", {"APOLLOTYRE"}),
    ("Power Grid approves capex of Rs 3,000 crore", {"POWERGRID"}),
    ("Heatwave strains the power grid as demand peaks", set()),
    ("Coal India output rises 7% in November", {"COALINDIA"}),
    ("Government mulls coal imports as India demand soars", set()),
    ("NTPC and ONGC rise as PSU stocks rally", {"NTPC", "ONGC"}),
    ("Indian Oil, BPCL and HPCL gain as crude softens", {"IOC", "BPCL", "HINDPETRO"}),
    ("Refiners see weak Indian oil demand growth", set()),
    ("Hindustan Unilever price cuts weigh on margins", {"HINDUNILVR"}),
    ("HUL volume growth slows to 2%", {"HINDUNILVR"}),
    ("Nestle India shares slip after royalty hike", {"NESTLEIND"}),
    ("Nestle SA cuts full-year guidance", set()),
    ("Titan jewellery sales rise 20% in festive quarter", {"TITAN"}),
    ("A clash of titans in Indian telecom", set()),
    ("Trent shares surge on strong Zudio store additions", {"TRENT"}),
    ("Zomato parent Eternal posts 57% drop in profit", {"ETERNAL"}),
    ("Critics call the rally eternal optimism", set()),
    ("UltraTech Cement to buy India Cements stake", {"ULTRACEMCO"}),
    ("JSW Steel crude steel output up 5%", {"JSWSTEEL"}),
    ("JSW Energy raises Rs 5,000 crore through QIP", {"JSWENERGY"}),
    ("Hindalco's Novelis files for IPO", {"HINDALCO"}),
    ("Grasim and Asian Paints in paint price war", {"GRASIM", "ASIANPAINT"}),
    ("Axis Bank and IndusInd Bank shares fall on NIM worries", {"AXISBANK", "INDUSINDBK"}),
    ("Eicher Motors' Royal Enfield sales cross 1 lakh units", {"EICHERMOT"}),
    ("Hero MotoCorp cuts prices of scooters", {"HEROMOTOCO"}),
    ("Bharat Electronics bags Rs 3,000 crore defence order", {"BEL"}),
    ("BEL shares at record high", {"BEL"}),
    ("The bell rings at Dalal Street", set()),
    ("Britannia profit falls as wheat costs rise", {"BRITANNIA"}),
    ("Shriram Finance to sell housing arm", {"SHRIRAMFIN"}),
    ("HCLTech and Wipro announce results dates", {"HCLTECH", "WIPRO"}),
    ("Sensex falls 600 points as global cues weaken", set()),
    ("RBI keeps repo rate unchanged at 6.5%", set()),
    ("Rupee hits record low against dollar", set()),
    ("IT stocks rally; Nifty IT index up 3%", set()),
    ("India's reliance on Russian oil grows", set()),
    ("IT titan Infosys raises guidance", {"INFY"}),
    ("RELIANCE, TITAN AMONG TOP GAINERS", {"RELIANCE", "TITAN"}),
    ("Kotak Institutional Equities upgrades Infosys to buy", {"INFY"}),
    ("ICICI Securities sees 20% upside in Tata Motors", {"TATAMOTORS"}),
    ("SBI Mutual Fund buys stake in Wipro", {"WIPRO"}),
    ("HDFC Mutual Fund assets cross Rs 7 lakh crore", {"HDFCAMC"}),
    ("Mahindra Logistics shares fall on weak volumes", {"MAHLOG"}),
    ("BSE Sensex falls 400 points; NSE Nifty below 24,000", set()),
    ("MCX gold futures rise", set()),
    ("BSE Ltd shares hit record on derivatives volumes", {"BSE"}),
    ("Indian bank stocks rally on rate cut hopes", set()),
    ("Indian Bank raises lending rates", {"INDIANB"}),
    ("इंफोसिस के शेयर चढ़े", set()),
    ("IRCTC shares rise after Railways ticketing update", {"IRCTC"}),
    ("Indian Railway Catering and Tourism Corp posts higher profit", {"IRCTC"}),
]


def test_tagging_precision_and_recall_on_labelled_headlines_are_above_0_9(capsys):
    # given the instrument master holds one symbol the alias table does not name
    Instrument.objects.create(
        instrument_token=3484417,
        tradingsymbol="IRCTC",
        name="INDIAN RAILWAY CATERING AND TOURISM CORP",
        exchange="NSE",
        segment="NSE",
    )
    Instrument.objects.create(
        instrument_token=3663105, tradingsymbol="INDIANB", name="INDIAN BANK", exchange="NSE", segment="NSE"
    )
    Instrument.objects.create(instrument_token=5013761, tradingsymbol="BSE", name="BSE", exchange="NSE", segment="NSE")
    tagger = tagger_build()

    true_positive = false_positive = false_negative = 0
    wrong = []
    for headline, expected in HEADLINES:
        found = {tag.symbol for tag in tagger.tags(headline)}
        true_positive += len(found & expected)
        false_positive += len(found - expected)
        false_negative += len(expected - found)
        if found != expected:
            wrong.append((headline, sorted(found), sorted(expected)))
    precision = true_positive / (true_positive + false_positive)
    recall = true_positive / (true_positive + false_negative)
    with capsys.disabled():  # printed in every run, not only when the test fails
        print(f"\ntagging on {len(HEADLINES)} headlines: precision {precision:.3f}, recall {recall:.3f}")  # noqa: T201
    assert precision > 0.9 and recall > 0.9, wrong


def test_an_alias_added_in_the_back_office_tags_from_then_on():
    assert tagger_build().tags("Paytm shares surge 8%") == []

    SymbolAlias.objects.create(alias="Paytm", symbol="PAYTM")

    [tag] = tagger_build().tags("Paytm shares surge 8%")
    assert (tag.symbol, tag.matched) == ("PAYTM", "Paytm")


def test_a_case_sensitive_ticker_does_not_tag_the_word():
    tagger = tagger_build()
    assert [t.symbol for t in tagger.tags("ITC rises")] == ["ITC"]
    assert tagger.tags("Itc rises") == [] and tagger.tags("the bel air deal") == []
