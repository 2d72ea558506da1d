"""The alias table seeded for the NIFTY 50 (and the names that contain one of theirs but are another
company's), and the Indian business news feeds a user would expect, as editable defaults."""

from django.db import migrations

# symbol: names it goes by ("!" before a name: matched only as written).
NIFTY50 = {
    "ADANIENT": ["Adani Enterprises", "!ADANIENT"],
    "ADANIPORTS": ["Adani Ports", "Adani Ports and SEZ", "APSEZ"],
    "APOLLOHOSP": ["Apollo Hospitals", "Apollo Hospitals Enterprise"],
    "ASIANPAINT": ["Asian Paints"],
    "AXISBANK": ["Axis Bank"],
    "BAJAJ-AUTO": ["Bajaj Auto"],
    "BAJFINANCE": ["Bajaj Finance"],
    "BAJAJFINSV": ["Bajaj Finserv"],
    "BEL": ["Bharat Electronics", "!BEL"],
    "BHARTIARTL": ["Bharti Airtel", "Airtel"],
    "BPCL": ["Bharat Petroleum", "!BPCL"],
    "BRITANNIA": ["Britannia", "Britannia Industries"],
    "CIPLA": ["Cipla"],
    "COALINDIA": ["!Coal India"],
    "DRREDDY": ["Dr Reddy's", "Dr Reddy's Laboratories", "Dr Reddys"],
    "EICHERMOT": ["Eicher Motors", "Eicher", "Royal Enfield"],
    "ETERNAL": ["Zomato", "!Eternal"],
    "GRASIM": ["Grasim", "Grasim Industries"],
    "HCLTECH": ["HCL Tech", "HCLTech", "HCL Technologies"],
    "HDFCBANK": ["HDFC Bank"],
    "HDFCLIFE": ["HDFC Life", "HDFC Life Insurance"],
    "HEROMOTOCO": ["Hero MotoCorp", "Hero Moto"],
    "HINDALCO": ["Hindalco", "Hindalco Industries"],
    "HINDUNILVR": ["Hindustan Unilever", "!HUL"],
    "ICICIBANK": ["ICICI Bank", "!ICICI"],
    "INDUSINDBK": ["IndusInd Bank", "IndusInd"],
    "INFY": ["Infosys", "Infy"],
    "ITC": ["!ITC", "ITC Ltd", "ITC Limited"],
    "JIOFIN": ["Jio Financial", "Jio Financial Services"],
    "JSWSTEEL": ["JSW Steel"],
    "KOTAKBANK": ["Kotak Mahindra Bank", "Kotak Bank", "Kotak"],
    "LT": ["Larsen & Toubro", "Larsen and Toubro", "Larsen", "!L&T"],
    "LTIM": ["LTIMindtree", "LTI Mindtree"],
    "M&M": ["Mahindra & Mahindra", "Mahindra and Mahindra", "!M&M", "Mahindra"],
    "MARUTI": ["Maruti Suzuki", "Maruti", "Maruti Suzuki India"],
    "NESTLEIND": ["Nestle India"],
    "NTPC": ["!NTPC"],
    "ONGC": ["!ONGC", "Oil and Natural Gas Corporation"],
    "POWERGRID": ["!Power Grid", "Power Grid Corporation", "Power Grid Corp", "!POWERGRID"],
    "RELIANCE": [
        "Reliance Industries",
        "!Reliance",
        "!RELIANCE",
        "!RIL",
        "Reliance Retail",
        "Reliance Jio",
        "Jio Platforms",
    ],
    "SBILIFE": ["SBI Life", "SBI Life Insurance"],
    "SBIN": ["State Bank of India", "!SBI"],
    "SHRIRAMFIN": ["Shriram Finance"],
    "SUNPHARMA": ["Sun Pharma", "Sun Pharmaceutical", "Sun Pharmaceutical Industries"],
    "TATACONSUM": ["Tata Consumer", "Tata Consumer Products"],
    "TATAMOTORS": ["Tata Motors"],
    "TATASTEEL": ["Tata Steel"],
    "TCS": ["!TCS", "Tata Consultancy Services", "Tata Consultancy"],
    "TECHM": ["Tech Mahindra", "!TechM"],
    "TITAN": ["!Titan", "!TITAN", "Titan Company"],
    "TRENT": ["Trent"],
    "ULTRACEMCO": ["UltraTech", "UltraTech Cement"],
    "WIPRO": ["Wipro"],
}
# Names that contain a NIFTY 50 company's name but are another company: their own symbol, or "" where
# the name alone does not say which company it is.
OTHERS = {
    "RPOWER": ["Reliance Power"],
    "RELINFRA": ["Reliance Infrastructure", "Reliance Infra"],
    "": [
        "Reliance Capital",
        "Reliance Communications",
        "Reliance Home Finance",
        "Reliance General Insurance",
        "Reliance Nippon",
        "HDFC",
        "Mahindra Group",
        "Club Mahindra",
        "Airtel Africa",
        "Titan Submersible",
        # Brokers, funds and group companies that carry a listed company's name but are not it.
        "Kotak Securities",
        "Kotak Institutional Equities",
        "Kotak Mutual Fund",
        "Kotak Mahindra AMC",
        "Kotak AMC",
        "ICICI Securities",
        "ICICI Direct",
        "ICICIdirect",
        "ICICI Prudential AMC",
        "ICICI Prudential Mutual Fund",
        "SBI Mutual Fund",
        "SBI MF",
        "SBI Funds Management",
        "SBI General Insurance",
        "HDFC Securities",
        "Axis Mutual Fund",
        "Axis Securities",
        "Axis Capital",
        "Tata Capital",
        "Tata Mutual Fund",
        "Bajaj Finserv Mutual Fund",
        # Exchanges and indices, not the listed exchanges' shares (BSE Ltd, MCX: below by their full names).
        "!BSE",
        "BSE Sensex",
        "!NSE",
        "!MCX",
    ],
    "BSE": ["BSE Ltd", "BSE Limited"],
    "MCX": ["Multi Commodity Exchange", "MCX India"],
    "MAHLOG": ["Mahindra Logistics"],
    "MHRIL": ["Mahindra Holidays", "Mahindra Holidays & Resorts"],
    "ADANIGREEN": ["Adani Green", "Adani Green Energy"],
    "ADANIPOWER": ["Adani Power"],
    "ADANIENSOL": ["Adani Energy Solutions"],
    "AWL": ["Adani Wilmar"],
    "TATAPOWER": ["Tata Power"],
    "TATACHEM": ["Tata Chemicals"],
    "TATAELXSI": ["Tata Elxsi"],
    "TATACOMM": ["Tata Communications"],
    "SBICARD": ["SBI Card", "SBI Cards"],
    "HDFCAMC": ["HDFC AMC", "HDFC Asset Management", "HDFC Mutual Fund"],
    "ICICIPRULI": ["ICICI Prudential", "ICICI Prudential Life"],
    "ICICIGI": ["ICICI Lombard"],
    "M&MFIN": ["Mahindra Finance", "Mahindra & Mahindra Financial Services"],
    "MAHLIFE": ["Mahindra Lifespace"],
    "BAJAJHLDNG": ["Bajaj Holdings"],
    "LTF": ["L&T Finance"],
    "LTTS": ["L&T Technology Services"],
    "APOLLOTYRE": ["Apollo Tyres"],
    "JSWENERGY": ["JSW Energy"],
    "IOC": ["!Indian Oil", "Indian Oil Corporation", "!IOC"],
    "HINDPETRO": ["Hindustan Petroleum", "!HPCL"],
    "SUNTV": ["Sun TV"],
}

FEEDS = {
    "Economic Times - Markets": "https://economictimes.indiatimes.com/markets/rssfeeds/1977021501.cms",
    "Moneycontrol - Business": "https://www.moneycontrol.com/rss/business.xml",
    "Business Standard - Markets": "https://www.business-standard.com/rss/markets-106.rss",
    "Mint - Markets": "https://www.livemint.com/rss/markets",
    "Hindu BusinessLine - Markets": "https://www.thehindubusinessline.com/markets/feeder/default.rss",
}


def seed(apps, schema_editor):
    SymbolAlias = apps.get_model("sentiment", "SymbolAlias")
    NewsSource = apps.get_model("sentiment", "NewsSource")
    for table in (NIFTY50, OTHERS):
        for symbol, names in table.items():
            for name in names:
                SymbolAlias.objects.get_or_create(
                    alias=name.lstrip("!"), case_sensitive=name.startswith("!"), defaults={"symbol": symbol}
                )
    for name, url in FEEDS.items():
        NewsSource.objects.get_or_create(name=name, defaults={"kind": "rss", "url": url})


class Migration(migrations.Migration):
    dependencies = [("sentiment", "0001_news")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
